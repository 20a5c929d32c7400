using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// The function app as a separate process (<c>dotnet SensorPipeline.Functions.dll start</c>), so
/// that its own RSS and CPU can be read from /proc; its output goes to a log file.
/// </summary>
internal sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly CancellationTokenSource _sampling = new();
    private readonly Task _sampler;
    private double _maxRssMb;

    private AppProcess(Process process, StreamWriter log, string logPath, int port)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
        Port = port;
        _sampler = SampleAsync(_sampling.Token);
    }

    public int Pid => _process.Id;

    public int Port { get; }

    public string LogPath { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Highest VmRSS seen by sampling every 200 ms.</summary>
    public double MaxSampledRssMb => Volatile.Read(ref _maxRssMb);

    public static async Task<AppProcess> StartAsync(string dll, int port, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The app is not built: {dll} does not exist (build with `dotnet build -c Release`, or pass --app).");
        }

        port = port > 0 ? port : FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "start", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--host", "127.0.0.1" })
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var logPath = Path.Combine(Path.GetTempPath(), $"sensorpipeline-bench-app-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => WriteLine(log, e.Data);
        process.ErrorDataReceived += (_, e) => WriteLine(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var app = new AppProcess(process, log, logPath, port);
        try
        {
            await app.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    private static void WriteLine(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the app was stopped.
            }
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The app exited with code {_process.ExitCode} during start; see {LogPath}.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Port}/health/ready"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(250, cancellationToken);
        }

        throw new TimeoutException($"The app was not ready within {timeout.TotalSeconds:0} s; see {LogPath}.");
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (ProcStats.StatusMb(_process.Id, "VmRSS") is { } rss && rss > _maxRssMb)
                {
                    Volatile.Write(ref _maxRssMb, rss);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>SIGTERM (the app shuts down cleanly), then a kill after 15 s.</summary>
    public async ValueTask DisposeAsync()
    {
        await _sampling.CancelAsync();
        await _sampler;
        if (!_process.HasExited)
        {
            try
            {
                using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }

        _sampling.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
