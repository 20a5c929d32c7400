using System.Net;
using System.Net.Sockets;
using SensorPipeline.Functions.Hosting;

namespace SensorPipeline.Tests.Unit;

/// <summary>What <c>start</c> checks before it starts anything.</summary>
public sealed class StartupChecksTests
{
    [Fact]
    public void Production_without_a_key_is_one_line_naming_Keys__Master_before_anything_starts()
    {
        var problem = StartupChecks.ValidateConfiguration([], "Production", localSettingsPath: null);

        Assert.NotNull(problem);
        Assert.DoesNotContain('\n', problem);
        Assert.Contains("Keys__Master", problem, StringComparison.Ordinal);
        Assert.Contains("ASPNETCORE_ENVIRONMENT=Development", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--ReconcileGracePeriod", "00:00:00", "ReconcileGracePeriod must be between")]
    [InlineData("--IngestMaxAge", "abc", "IngestMaxAge")]
    [InlineData("--IngestMaxAge", "00:00:01", "IngestMaxAge must be between")]
    [InlineData("--QueryMaxRange", "not-a-timespan", "QueryMaxRange")]
    public void A_bad_setting_is_one_line_that_names_it(string name, string value, string expected)
    {
        var problem = StartupChecks.ValidateConfiguration([name, value], "Development", localSettingsPath: null);

        Assert.NotNull(problem);
        Assert.DoesNotContain('\n', problem);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_development_configuration_is_valid()
    {
        Assert.Null(StartupChecks.ValidateConfiguration([], "Development", localSettingsPath: null));
        Assert.Null(StartupChecks.ValidateConfiguration(["--Keys:Master", "k"], "Production", localSettingsPath: null));
    }

    [Fact]
    public void A_busy_port_is_found_before_anything_starts()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Assert.True(StartupChecks.IsPortInUse("localhost", port));
        Assert.True(StartupChecks.IsPortInUse("127.0.0.1", port));
        listener.Stop();
        Assert.False(StartupChecks.IsPortInUse("127.0.0.1", port));
    }

    [Fact]
    public void A_relative_data_dir_is_relative_to_where_the_command_was_typed()
    {
        var typedIn = Path.GetTempPath();
        var programIn = Path.Combine(typedIn, "functions");

        Assert.Equal(Path.GetFullPath(Path.Combine(typedIn, ".data", "pg")), StartupChecks.ResolveDataDirectory("./.data/pg", typedIn, programIn));
        // Without a usable PWD: the current directory.
        Assert.Equal(Path.GetFullPath(Path.Combine(programIn, ".data", "pg")), StartupChecks.ResolveDataDirectory("./.data/pg", null, programIn));
        Assert.Equal("/var/lib/sp", StartupChecks.ResolveDataDirectory("/var/lib/sp", typedIn, programIn));
    }

    [Fact]
    public void Data_dirs_under_the_repository_are_git_ignored()
    {
        var root = FindRepositoryRoot();
        var ignore = File.ReadAllLines(Path.Combine(root, ".gitignore"));
        // ".data/" (no leading slash) matches at any depth: ./.data and functions/.data alike.
        Assert.Contains(".data/", ignore);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=34701;Username=postgres;Database=postgres", "postgresql://postgres@127.0.0.1:34701/postgres")]
    [InlineData("Host=db.example;Port=5432;Username=app;Password=s3cret;Database=sensors;SSL Mode=Require", "postgresql://app:***@db.example:5432/sensors?sslmode=require")]
    [InlineData("Host=/var/run/postgresql;Username=postgres", "postgresql://postgres@/postgres?host=%2Fvar%2Frun%2Fpostgresql&port=5432")]
    [InlineData("Host=a,b:5433;Username=u;Database=d", "postgresql://u@a:5432,b:5433/d")]
    public void The_printed_database_is_a_uri_psql_takes(string connectionString, string expected)
    {
        Assert.Equal(expected, StartupChecks.PostgresUri(connectionString));
    }

    internal static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && File.Exists(Path.Combine(dir.FullName, "README.md")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (host.json, README.md) was not found above " + AppContext.BaseDirectory);
    }
}
