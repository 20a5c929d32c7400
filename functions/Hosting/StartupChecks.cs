using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorPipeline.Functions.Runtime.Hosting;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// What <c>start</c> checks before it starts anything (embedded PostgreSQL, mock Kafka, the
/// banner): the configuration as the app will validate it, and the HTTP port. A failure is one
/// line saying what to do, and a distinct exit code.
/// </summary>
public static partial class StartupChecks
{
    [System.Text.RegularExpressions.GeneratedRegex(@"members: '([^']+)' with the error: '(.*)'\.$")]
    private static partial System.Text.RegularExpressions.Regex DataAnnotationMessage();

    /// <summary>Exit codes of <c>start</c>.</summary>
    public static class ExitCodes
    {
        public const int Configuration = 2;
        public const int Database = 3;
        public const int PortInUse = 4;
        public const int EmbeddedStack = 5;
    }

    /// <summary>What the exit codes mean, for <c>start --help</c> and README.</summary>
    public const string ExitCodesHelp =
        "Exit codes: 0 stopped cleanly, 2 configuration error, 3 database error, 4 port in use, 5 embedded PostgreSQL/Kafka could not start.";

    /// <summary>
    /// Validates every setting as the app's options validation will (same registrations, same
    /// validators), with stand-ins for the connection settings the embedded stack would supply.
    /// Null when the configuration is good; otherwise one line that names the setting.
    /// </summary>
    public static string? ValidateConfiguration(string[] args, string environment, string? localSettingsPath)
    {
        var builder = SensorPipelineApp.CreateBuilder(args, environment, localSettingsPath);
        var standIns = new Dictionary<string, string?>();
        if (string.IsNullOrWhiteSpace(builder.Configuration["TimescaleConnection"]))
        {
            standIns["TimescaleConnection"] = "Host=embedded";
        }

        if (string.IsNullOrWhiteSpace(builder.Configuration["KafkaBrokerList"]))
        {
            standIns["KafkaBrokerList"] = "embedded:9092";
        }

        builder.Configuration.AddInMemoryCollection(standIns);
        try
        {
            builder.AddFunctionsRuntime(typeof(SensorPipelineApp).Assembly);
            builder.AddSensorPipeline();
            using var provider = builder.Services.BuildServiceProvider();
            provider.GetService<IStartupValidator>()?.Validate();
            var connection = builder.Configuration["TimescaleConnection"];
            _ = new NpgsqlConnectionStringBuilder(connection);
            return null;
        }
        catch (OptionsValidationException e)
        {
            // "DataAnnotation validation failed for 'PipelineOptions' members: 'X' with the error: 'X must be ...'." -> "X must be ...".
            return OneLine(string.Join(" ", e.Failures.Distinct().Select(f => DataAnnotationMessage().Match(f) is { Success: true } m ? $"{m.Groups[2].Value} (setting {m.Groups[1].Value})" : f)), environment);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            // E.g. "Failed to convert configuration value 'abc' at 'IngestMaxAge' to type 'System.TimeSpan'."
            return OneLine(e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message, environment);
        }
    }

    private static string OneLine(string message, string environment)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        if (line.Contains("Keys:Master", StringComparison.Ordinal) && !string.Equals(environment, Environments.Development, StringComparison.OrdinalIgnoreCase))
        {
            line += $" (ASPNETCORE_ENVIRONMENT is {environment}: set Keys__Master, or run with ASPNETCORE_ENVIRONMENT=Development for local use without keys.)";
        }

        return line;
    }

    /// <summary>
    /// Whether something already listens on <paramref name="port"/> of the interface
    /// <paramref name="host"/> (localhost: IPv4 and IPv6 loopback): tried by binding it for a moment.
    /// </summary>
    public static bool IsPortInUse(string host, int port)
    {
        IPAddress[] addresses = host switch
        {
            "localhost" => Socket.OSSupportsIPv6 ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : [IPAddress.Loopback],
            "0.0.0.0" or "*" or "+" => [IPAddress.Any],
            "::" or "[::]" => [IPAddress.IPv6Any],
            _ when IPAddress.TryParse(host.Trim('[', ']'), out var ip) => [ip],
            _ => [],
        };
        foreach (var address in addresses)
        {
            try
            {
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(1);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return true;
            }
            catch (SocketException)
            {
                // E.g. no IPv6 on this machine: Kestrel will say so itself if it matters.
            }
        }

        return false;
    }

    /// <summary>
    /// The folder <c>--data-dir</c> names, as an absolute path. A relative path is relative to the
    /// folder the command was typed in: <c>dotnet run --project functions</c> runs the program in
    /// <c>functions/</c>, but the shell's <c>PWD</c> still says where the user was.
    /// </summary>
    public static string ResolveDataDirectory(string dataDirectory, string? shellDirectory, string currentDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        if (dataDirectory.StartsWith('~') && Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home)
        {
            dataDirectory = home + dataDirectory[1..];
        }

        if (Path.IsPathFullyQualified(dataDirectory))
        {
            return Path.GetFullPath(dataDirectory);
        }

        var baseDirectory = shellDirectory is { Length: > 0 } && Path.IsPathFullyQualified(shellDirectory) && Directory.Exists(shellDirectory)
            ? shellDirectory
            : currentDirectory;
        return Path.GetFullPath(Path.Combine(baseDirectory, dataDirectory));
    }

    /// <summary>
    /// The database as <c>psql</c> takes it: a <c>postgresql://</c> URI (the password, if any, shown as ***).
    /// </summary>
    public static string PostgresUri(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var user = string.IsNullOrEmpty(b.Username) ? "" : Uri.EscapeDataString(b.Username) + (string.IsNullOrEmpty(b.Password) ? "" : ":***") + "@";
        var database = Uri.EscapeDataString(b.Database ?? b.Username ?? "postgres");
        var host = b.Host ?? "localhost";
        if (host.StartsWith('/'))
        {
            // A Unix socket folder: psql takes it as the host parameter.
            return $"postgresql://{user}/{database}?host={Uri.EscapeDataString(host)}&port={b.Port}";
        }

        // One host or several (psql takes host1:port,host2:port); an IPv6 address in brackets.
        host = string.Join(',', host.Split(',').Select(h =>
            h.Count(c => c == ':') > 1 ? $"[{h}]:{b.Port}" : h.Contains(':', StringComparison.Ordinal) ? h : $"{h}:{b.Port}"));
        var query = b.SslMode is SslMode.Require or SslMode.VerifyCA or SslMode.VerifyFull
            ? "?sslmode=" + b.SslMode.ToString().ToLowerInvariant().Replace("verifyca", "verify-ca", StringComparison.Ordinal).Replace("verifyfull", "verify-full", StringComparison.Ordinal)
            : "";
        return $"postgresql://{user}{host}/{database}{query}";
    }
}
