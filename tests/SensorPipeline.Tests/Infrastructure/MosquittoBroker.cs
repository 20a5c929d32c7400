using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using SensorPipeline.Functions.Devices;

namespace SensorPipeline.Tests.Infrastructure;

/// <summary>
/// Debian's Mosquitto, started with the repository's mosquitto/mosquitto.conf and ACL (paths and
/// port rewritten), a server certificate from the app's device CA. Fails with what to install
/// when Mosquitto is missing.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private Process _process;

    private MosquittoBroker(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    public static async Task<MosquittoBroker> StartAsync(string deviceCaDirectory)
    {
        var binary = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("The MQTT door's tests need Mosquitto: apt-get install mosquitto mosquitto-clients (.ci/run does).");
        using var authority = DeviceAuthority.LoadOrCreate(deviceCaDirectory);
        var directory = Path.Combine(Path.GetTempPath(), "sensorpipeline-mosquitto-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        using var server = authority.IssueServerCertificate("127.0.0.1");
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.crt"), authority.CaCertificatePem);
        await File.WriteAllTextAsync(Path.Combine(directory, "broker.crt"), server.ExportCertificatePem());
        using (var key = server.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "broker.key"), key.ExportPkcs8PrivateKeyPem());
        }

        var root = StartupChecksTestsRoot();
        File.Copy(Path.Combine(root, "mosquitto", "acl"), Path.Combine(directory, "acl"));
        var port = FreePort();
        var conf = (await File.ReadAllTextAsync(Path.Combine(root, "mosquitto", "mosquitto.conf")))
            .Replace("/etc/mosquitto/sensorpipeline", directory, StringComparison.Ordinal)
            .Replace("listener 8883", $"listener {port} 127.0.0.1", StringComparison.Ordinal)
            .Replace("persistence true", $"persistence true\npersistence_location {directory}/\nlog_dest stderr", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(directory, "mosquitto.conf"), conf);
        // Mosquitto started as root drops to the mosquitto user: the throwaway folder must be readable.
        if (!OperatingSystem.IsWindows())
        {
            foreach (var file in System.IO.Directory.GetFiles(directory))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        }
        var process = await LaunchAsync(binary, directory, port);
        return new MosquittoBroker(process, directory, port);
    }

    /// <summary>Stops Mosquitto gracefully (SIGTERM: it writes its persistence file) and starts it again on the same port and files.</summary>
    public async Task RestartAsync()
    {
        Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = await LaunchAsync(_process.StartInfo.FileName, Directory, Port);
    }

    private static async Task<Process> LaunchAsync(string binary, string directory, int port)
    {
        var process = Process.Start(new ProcessStartInfo(binary, ["-c", Path.Combine(directory, "mosquitto.conf")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }

        if (process.HasExited)
        {
            throw new InvalidOperationException($"Mosquitto exited with {process.ExitCode} (config {directory}/mosquitto.conf).");
        }

        return process;
    }

    private static string StartupChecksTestsRoot() => SensorPipeline.Tests.Unit.StartupChecksTests.FindRepositoryRoot();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
