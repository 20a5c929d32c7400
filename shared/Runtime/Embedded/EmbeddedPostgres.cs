using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SensorPipeline.Runtime.Embedded;

/// <summary>
/// A throwaway PostgreSQL cluster made from the machine's PostgreSQL binaries (initdb, pg_ctl) on a
/// free 127.0.0.1 port. initdb refuses to run as root, so as root the server runs as the
/// <c>postgres</c> user. Tuned for development (fsync off): its data is not meant to survive.
/// </summary>
public sealed partial class EmbeddedPostgres : IAsyncDisposable
{
    private readonly string _binDirectory;
    private readonly bool _asPostgresUser;
    private readonly bool _deleteOnDispose;

    private EmbeddedPostgres(string binDirectory, string dataDirectory, int port, bool asPostgresUser, bool deleteOnDispose)
    {
        _binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        Port = port;
        _asPostgresUser = asPostgresUser;
        _deleteOnDispose = deleteOnDispose;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres";

    /// <summary>
    /// Starts a cluster. With <paramref name="dataDirectory"/> an existing cluster there is reused
    /// (kept on dispose); without it a new one is made in a temporary folder and deleted on dispose.
    /// </summary>
    public static async Task<EmbeddedPostgres> StartAsync(string? dataDirectory = null, string? binDirectory = null, CancellationToken cancellationToken = default)
    {
        var bin = binDirectory ?? FindBinDirectory();
        var asPostgres = OperatingSystem.IsLinux() && geteuid() == 0;
        var keep = dataDirectory is not null;
        var data = Path.GetFullPath(dataDirectory ?? Path.Combine(Path.GetTempPath(), "sensorpipeline-pg-" + Guid.NewGuid().ToString("N")[..12]));
        var port = FreePort();
        var server = new EmbeddedPostgres(bin, data, port, asPostgres, !keep);
        if (!File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            Directory.CreateDirectory(data);
            if (asPostgres)
            {
                await RunAsync("chown", ["postgres:postgres", data], asPostgres: false, cancellationToken);
            }

            await server.RunToolAsync("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], cancellationToken);
        }

        else if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            // A server left running by a process that was killed: stop it before starting again.
            try
            {
                await server.RunToolAsync("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"], cancellationToken);
            }
            catch (InvalidOperationException)
            {
                // Not running after all (a stale pid file): pg_ctl start copes with that.
            }
        }

        await server.StartServerAsync(cancellationToken);
        return server;
    }

    /// <summary>Stops the server (fast shutdown: connections are cut), keeping its data, as an outage would.</summary>
    public Task StopServerAsync(CancellationToken cancellationToken = default) =>
        RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], cancellationToken);

    /// <summary>Starts the server again on the same port.</summary>
    public Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        var options = $"-p {Port} -k {DataDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=256MB";
        return RunToolAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(DataDirectory, "server.log"), "-o", options, "-w", "-t", "60", "start"], cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        if (_deleteOnDispose)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>PostgresBinDir, else the newest /usr/lib/postgresql/N/bin, else the PATH.</summary>
    public static string FindBinDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("PostgresBinDir");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(x => File.Exists(Path.Combine(x.Dir, "bin", "initdb")))
                .OrderByDescending(x => x.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return Path.Combine(newest.Dir, "bin");
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException(
            "No PostgreSQL server binaries (initdb, pg_ctl) found. Install them (Debian: apt-get install postgresql), set PostgresBinDir, or set TimescaleConnection to an existing server.");
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunAsync(Path.Combine(_binDirectory, tool), arguments, _asPostgresUser, cancellationToken);

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, bool asPostgres, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres ? "runuser" : file,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        // pg_ctl leaves the server holding the pipes: read them without waiting for their end.
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(2000, cancellationToken));
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {(stderr.IsCompleted ? stderr.Result : "")}{(stdout.IsCompleted ? stdout.Result : "")}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
