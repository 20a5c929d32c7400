using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// Calibration as code: the file, mounted the way a ConfigMap is (a <c>..data</c>
/// symlink swapped on update), adds versions and recalibrations only where a sensor's newest
/// version differs, nothing for the same content, nothing for a refused file, and one replica applies it.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class CalibrationFileTests(TestServers servers) : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _mount = Directory.CreateTempSubdirectory("calibration-mount-").FullName;
    private int _revision;

    public void Dispose() => Directory.Delete(_mount, recursive: true);

    /// <summary>As the kubelet updates a ConfigMap volume: a new timestamped folder, then an atomic swap of the <c>..data</c> symlink.</summary>
    private string Publish(string content)
    {
        var folder = Path.Combine(_mount, $"..2026_{Interlocked.Increment(ref _revision):D4}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "calibration.yaml"), content);
        var next = Path.Combine(_mount, "..data_tmp");
        File.Delete(next);
        File.CreateSymbolicLink(next, Path.GetFileName(folder));
        // rename(2) replaces the old link atomically (File.Move follows a link to a folder and refuses).
        Assert.Equal(0, Rename(next, Path.Combine(_mount, "..data")));
        var file = Path.Combine(_mount, "calibration.yaml");
        if (!File.Exists(file))
        {
            File.CreateSymbolicLink(file, Path.Combine("..data", "calibration.yaml"));
        }

        return file;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Rename(string from, string to);

    private async Task<Dictionary<string, string?>> SettingsAsync(string prefix, string file)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(prefix));
        settings["CalibrationFile"] = file;
        settings["CalibrationFilePollInterval"] = "00:00:01";
        return settings;
    }

    private static Task<long> VersionsAsync(PipelineApp app, string sensor) =>
        app.ScalarAsync($"select count(*) from calibration where sensor_id = '{sensor}'");

    private static Task<long> JobsAsync(PipelineApp app, string sensor) =>
        app.ScalarAsync($"select count(*) from recalibration_job where sensor_id = '{sensor}'");

    /// <summary>Waits for the n-th "applied" line (event 605) and returns it.</summary>
    private static async Task<string> AppliedAsync(TestLogs logs, int n) =>
        (await Eventually.WaitForAsync(
            () => Task.FromResult(logs.Lines.Where(l => l.Event.Id == 605).Select(l => l.Message).ToList()),
            lines => lines.Count >= n, TimeSpan.FromSeconds(30), $"calibration file applied {n} time(s)"))[n - 1];

    private const string TwoSensors = """
        sensors:
          file-a: { gain: 0.98, offset: 2.5, validFrom: "2026-01-01T00:00:00Z" }
          file-b: { gain: 1.02, offset: -1.2 }
        """;

    [Fact]
    public async Task The_file_adds_a_version_and_a_recalibration_only_for_sensors_whose_newest_version_differs()
    {
        var file = Publish(TwoSensors);
        var settings = await SettingsAsync("calfile", file);
        var logs = new TestLogs();
        await using (var app = await PipelineApp.StartAsync(settings, logs))
        {
            foreach (var sensor in new[] { "file-a", "file-b" })
            {
                Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Enumerable.Range(0, 10)
                    .Select(i => new { sensorId = sensor, recordedAt = T0.AddHours(i).ToString("O"), value = 20.0 + i }).ToArray())).StatusCode);
            }

            Assert.Contains("2 sensor(s), 2 new version(s)", await AppliedAsync(logs, 1), StringComparison.Ordinal);
            Assert.Equal(1, await VersionsAsync(app, "file-a"));
            Assert.Equal(1, await VersionsAsync(app, "file-b"));
            Assert.Equal(1, await JobsAsync(app, "file-a"));
            Assert.Equal(1, await JobsAsync(app, "file-b"));
            Assert.Equal(1, await app.ScalarAsync("select count(*) from calibration where sensor_id = 'file-a' and valid_from = '2026-01-01T00:00:00Z' and gain = 0.98 and \"offset\" = 2.5"));

            // Only file-b changes: only file-b gets a version (and a job).
            Publish(TwoSensors.Replace("gain: 1.02", "gain: 1.05", StringComparison.Ordinal));
            Assert.Contains("2 sensor(s), 1 new version(s)", await AppliedAsync(logs, 2), StringComparison.Ordinal);
            Assert.Equal(1, await VersionsAsync(app, "file-a"));
            Assert.Equal(2, await VersionsAsync(app, "file-b"));
            Assert.Equal(2, await JobsAsync(app, "file-b"));
            Assert.Equal(1, await app.ScalarAsync("select count(*) from calibration where sensor_id = 'file-b' and version = 2 and gain = 1.05"));

            // The same content published again: the hash is the same, nothing is applied or added.
            Publish(TwoSensors.Replace("gain: 1.02", "gain: 1.05", StringComparison.Ordinal));
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal(2, logs.Lines.Count(l => l.Event.Id == 605));
            Assert.Equal(3, await app.ScalarAsync("select count(*) from calibration"));

            var status = await app.Http.GetFromJsonAsync<JsonElement>("/api/status");
            var shown = status.GetProperty("calibrationFile");
            Assert.Equal("applied", shown.GetProperty("state").GetString());
            Assert.Equal(["file-a", "file-b"], shown.GetProperty("sensors").EnumerateArray().Select(s => s.GetString() ?? "").ToArray());
            Assert.Equal(1, shown.GetProperty("versionsAdded").GetInt32());
        }

        // A restart with the same file: applied (compared with the database) and nothing added.
        var restartLogs = new TestLogs();
        await using (var again = await PipelineApp.StartAsync(settings, restartLogs))
        {
            Assert.Contains("2 sensor(s), 0 new version(s)", await AppliedAsync(restartLogs, 1), StringComparison.Ordinal);
            Assert.Equal(3, await again.ScalarAsync("select count(*) from calibration"));
            Assert.Equal(3, await again.ScalarAsync("select count(*) from recalibration_job"));
        }
    }

    [Fact]
    public async Task A_broken_file_changes_nothing_and_says_why_with_the_line_in_the_log_and_the_status()
    {
        var file = Publish(TwoSensors);
        var logs = new TestLogs();
        await using var app = await PipelineApp.StartAsync(await SettingsAsync("calfile_bad", file), logs);
        await AppliedAsync(logs, 1);

        // file-a would change, but file-b's entry would be refused by the API (gain 0): nothing changes.
        Publish("""
            sensors:
              file-a: { gain: 0.5, offset: 2.5, validFrom: "2026-01-01T00:00:00Z" }
              file-b: { gain: 0, offset: -1.2 }
            """);
        var refused = await Eventually.WaitForAsync(
            () => Task.FromResult(logs.Lines.Where(l => l.Event.Id == 602).Select(l => $"{l.Level} {l.Message}").ToList()),
            lines => lines.Count == 1, TimeSpan.FromSeconds(30), "the refusal in the log");
        Assert.Equal($"{LogLevel.Error} Calibration file {file} refused, nothing changed: line 3: file-b: gain: Must not be 0.", refused[0]);
        Assert.Equal(2, await app.ScalarAsync("select count(*) from calibration"));
        Assert.Equal(0, await app.ScalarAsync("select count(*) from calibration where gain = 0.5"));

        var status = await app.Http.GetFromJsonAsync<JsonElement>("/api/status");
        var shown = status.GetProperty("calibrationFile");
        Assert.Equal("refused", shown.GetProperty("state").GetString());
        Assert.Equal("file-b: gain: Must not be 0.", shown.GetProperty("error").GetString());
        Assert.Equal(3, shown.GetProperty("errorLine").GetInt32());
        var metrics = await app.Http.GetStringAsync("/metrics");
        Assert.Matches(@"(?m)^sensorpipeline_calibration_file_refused(_ratio)?\{[^}]*\} 1( |$)", metrics);

        // Not YAML at all: refused too, still nothing changed; the PUT still works and says the file manages the sensor.
        Publish("sensors:\n  file-a: { gain: 0.5, offset: 2.5 }\n   file-b: {\n");
        await Eventually.WaitForAsync(() => Task.FromResult(logs.Lines.Count(l => l.Event.Id == 602)), n => n == 2, TimeSpan.FromSeconds(30), "the second refusal");
        Assert.Equal(2, await app.ScalarAsync("select count(*) from calibration"));
        var put = await app.Http.PutAsJsonAsync("/api/sensors/file-a/calibration", new { gain = 3.0, offset = 0.0, validFrom = "2026-06-01T00:00:00Z" });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Contains("managed by the calibration file", (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("managedBy").GetProperty("message").GetString(), StringComparison.Ordinal);

        // Fixed: applied again, and the file wins over the PUT for file-a.
        Publish(TwoSensors);
        Assert.Contains("2 sensor(s), 1 new version(s)", await AppliedAsync(logs, 2), StringComparison.Ordinal);
        Assert.Equal(1, await app.ScalarAsync("select count(*) from calibration where sensor_id = 'file-a' and version = 3 and gain = 0.98"));
        Assert.Equal("applied", (await app.Http.GetFromJsonAsync<JsonElement>("/api/status")).GetProperty("calibrationFile").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Two_replicas_with_the_same_file_add_each_version_once()
    {
        var file = Publish(TwoSensors);
        var settings = await SettingsAsync("calfile_two", file);
        var (logsA, logsB) = (new TestLogs(), new TestLogs());
        await using var a = await PipelineApp.StartAsync(settings, logsA);
        await using var b = await PipelineApp.StartAsync(settings, logsB);
        await Eventually.WaitForAsync(() => a.ScalarAsync("select count(*) from calibration"), n => n == 2, TimeSpan.FromSeconds(30), "two versions");

        Publish(TwoSensors.Replace("offset: 2.5", "offset: 2.6", StringComparison.Ordinal));
        await Eventually.WaitForAsync(() => a.ScalarAsync("select count(*) from calibration"), n => n == 3, TimeSpan.FromSeconds(30), "file-a's second version");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(3, await a.ScalarAsync("select count(*) from calibration"));
        // Exactly one of the two applies (holds the lease).
        Assert.Equal(1, new[] { logsA, logsB }.Count(l => l.Lines.Any(x => x.Event.Id == 601)));

        // The applying replica stops: the other takes the lease over and applies the next change.
        var (leader, other, otherLogs) = logsA.Lines.Any(x => x.Event.Id == 601) ? (a, b, logsB) : (b, a, logsA);
        await leader.StopAsync();
        Publish(TwoSensors.Replace("offset: 2.5", "offset: 2.6", StringComparison.Ordinal).Replace("offset: -1.2", "offset: -1.3", StringComparison.Ordinal));
        await Eventually.WaitForAsync(() => other.ScalarAsync("select count(*) from calibration where sensor_id = 'file-b'"), n => n == 2, TimeSpan.FromSeconds(30), "file-b's second version from the other replica");
        Assert.Contains(otherLogs.Lines, l => l.Event.Id == 601);
        Assert.Equal(2, await other.ScalarAsync("select count(*) from calibration where sensor_id = 'file-a'"));
    }
}
