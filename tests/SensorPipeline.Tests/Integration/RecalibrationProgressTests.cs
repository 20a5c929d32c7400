using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Tests.Infrastructure;
using Spectre.Console;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// Job progress that adds up at every moment, a job that completes as soon as it is done, and the
/// <c>recalibrate</c> command's messages and rendering.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class RecalibrationProgressTests(TestServers servers)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task<PipelineApp> StartAsync(string prefix, Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(prefix));
        settings["RecalibrationSchedule"] = "*/1 * * * * *";
        configure?.Invoke(settings);
        return await PipelineApp.StartAsync(settings);
    }

    private static object[] Readings(string sensor, int count) =>
        Enumerable.Range(0, count).Select(i => (object)new { sensorId = sensor, recordedAt = T0.AddMinutes(i).ToString("O"), value = i % 100 }).ToArray();

    private static async Task<JsonElement> GetJobAsync(PipelineApp app, long id) =>
        await app.Http.GetFromJsonAsync<JsonElement>($"/api/recalibrations/{id}");

    private static void AssertCoherent(JsonElement job)
    {
        var total = job.GetProperty("total").GetInt64();
        var calibrated = job.GetProperty("calibrated").GetInt64();
        var remaining = job.GetProperty("remaining").GetInt64();
        Assert.True(calibrated <= total, $"calibrated {calibrated} <= total {total}: {job}");
        Assert.Equal(total, calibrated + remaining);
        Assert.Equal(total == 0 ? 100.0 : Math.Round(100.0 * calibrated / total, 1), job.GetProperty("percent").GetDouble());
    }

    [Fact]
    public async Task A_put_right_after_a_post_gives_counts_that_add_up()
    {
        await using var app = await StartAsync("coherent");
        // The readings are still on their way through Kafka when the version is stored: the job
        // finds none (its stored total is 0), and realtime calibration then computes them with the new version.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("c-1", 800))).StatusCode);
        var put = await app.Http.PutAsJsonAsync("/api/sensors/c-1/calibration", new { gain = 0.98, offset = 2.5, validFrom = T0.AddDays(-1).ToString("O") });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var jobId = (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recalibration").GetProperty("id").GetInt64();

        var job = await Eventually.WaitForAsync(async () =>
        {
            var j = await GetJobAsync(app, jobId);
            AssertCoherent(j);
            Assert.False(j.GetProperty("state").GetString() is "running" or "draining" && j.GetProperty("calibrated").GetInt64() > 0 && j.GetProperty("remaining").GetInt64() == 0, $"done but not completed: {j}");
            return j;
        }, j => j.GetProperty("state").GetString() == "completed" && j.GetProperty("calibrated").GetInt64() == 800, TimeSpan.FromSeconds(60), "the job completed with the 800 readings calibrated");
        Assert.Equal(800, job.GetProperty("total").GetInt64());
        Assert.Equal(100.0, job.GetProperty("percent").GetDouble());
        Assert.Equal(800, await app.ScalarAsync("select count(*) from calibrated_temperature where calibration_version = 1"));
    }

    [Fact]
    public async Task A_job_completes_as_soon_as_everything_is_recalculated()
    {
        await using var app = await StartAsync("prompt");
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("p-1", 4000))).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 4000, TimeSpan.FromSeconds(60), "4000 calibrated rows");

        var put = await app.Http.PutAsJsonAsync("/api/sensors/p-1/calibration", new { gain = 2.0, offset = 1.0, validFrom = T0.ToString("O") });
        var jobId = (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recalibration").GetProperty("id").GetInt64();
        var seen = new List<string>();
        await Eventually.WaitForAsync(async () =>
        {
            var j = await GetJobAsync(app, jobId);
            AssertCoherent(j);
            var state = j.GetProperty("state").GetString()!;
            seen.Add($"{state}:{j.GetProperty("remaining").GetInt64()}");
            // Never active with nothing left: the answer that sees it done completes it.
            Assert.False(state is "running" or "draining" && j.GetProperty("remaining").GetInt64() == 0 && j.GetProperty("total").GetInt64() > 0, string.Join(", ", seen));
            return j;
        }, j => j.GetProperty("state").GetString() == "completed", TimeSpan.FromSeconds(60), "the job to complete");

        // Without anyone asking, the producer completes a job within a second or so of its last
        // recalculation (not at a later timer run).
        await app.ExecuteAsync("""insert into calibration (sensor_id, version, valid_from, gain, "offset") values ('p-1', 3, '2026-03-01T00:00:00Z', 3, 0)""");
        await app.ExecuteAsync("""insert into recalibration_job (sensor_id, from_time, to_time, reason, calibration_version, total) values ('p-1', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'test', 3, 4000)""");
        var second = await app.ScalarAsync("select max(id) from recalibration_job");
        await Eventually.WaitForAsync(() => app.ScalarAsync($"select count(*) from recalibration_job where id = {second} and state = 'completed'"), n => n == 1, TimeSpan.FromSeconds(60), "the second job to complete");
        var lagSeconds = await app.ScalarAsync($"""
            select ceil(extract(epoch from (j.finished_at - (select max(c.calibrated_at) from calibrated_temperature c where c.sensor_id = 'p-1'))) * 1000)
              from recalibration_job j where j.id = {second}
            """);
        Assert.True(lagSeconds < 2000, $"completed {lagSeconds} ms after the last recalculation");
    }

    private static (IAnsiConsole Console, StringWriter Output) Console80(bool interactive) => RecordingConsole.Create(interactive, 80);

    private static string[] Lines(StringWriter output) =>
        // A carriage return (live redraw) starts the line over: each part is what one redraw shows.
        RecordingConsole.WithoutEscapes(output.ToString()).Split('\n').SelectMany(l => l.Split('\r')).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Recalibrate_renders_within_80_columns_interactive_or_not(bool interactive)
    {
        await using var app = await StartAsync("render-" + (interactive ? "tty" : "plain"));
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("sensor-with-a-rather-long-name-01", 3000))).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 3000, TimeSpan.FromSeconds(60), "3000 calibrated rows");
        var (console, output) = Console80(interactive);

        var exit = await RecalibrateCommand.RunAsync(console, app.Http.BaseAddress!.ToString(), null, "sensor-with-a-rather-long-name-01",
            "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z", null, TimeSpan.FromMilliseconds(200), CancellationToken.None);

        var lines = Lines(output);
        Assert.True(exit == 0, string.Join('\n', lines));
        Assert.All(lines, line => Assert.True(line.Length <= 80, $"{line.Length} columns: '{line}'"));
        Assert.Contains(lines, l => l.Contains("completed, 3,000 of 3,000", StringComparison.Ordinal));
        if (!interactive)
        {
            Assert.Contains(lines, l => l.StartsWith("job 1: completed, 3,000 of 3,000 recalculated (100.0%)", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains(lines, l => l.Contains("100%", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Recalibrate_says_which_job_does_not_exist_and_that_a_key_is_required()
    {
        await using var app = await StartAsync("cli-errors");
        var (console, output) = Console80(interactive: false);
        Assert.Equal(RecalibrateCommand.NoSuchJob, await RecalibrateCommand.RunAsync(console, app.Http.BaseAddress!.ToString(), null, null, null, null, 999, TimeSpan.FromMilliseconds(100), CancellationToken.None));
        Assert.Contains("Job 999 does not exist.", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot reach", output.ToString(), StringComparison.Ordinal);

        var settings = new Dictionary<string, string?>(app.Settings) { ["Keys:Master"] = "cli-master-key" };
        await using var keyed = await PipelineApp.StartAsync(settings);
        var (noKey, noKeyOutput) = Console80(interactive: false);
        Assert.Equal(RecalibrateCommand.KeyProblem, await RecalibrateCommand.RunAsync(noKey, keyed.Http.BaseAddress!.ToString(), null, null, null, null, 1, TimeSpan.FromMilliseconds(100), CancellationToken.None));
        Assert.Contains("A key is required: pass --key, set Keys__Master,", noKeyOutput.ToString(), StringComparison.Ordinal);
        Assert.Contains("local.settings.json", noKeyOutput.ToString(), StringComparison.Ordinal);

        // The key from local.settings.json Values, as the app reads it.
        var localSettings = Path.Combine(Path.GetTempPath(), $"local.settings.{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(localSettings, """{"IsEncrypted":false,"Values":{"Keys__Master":"cli-master-key"}}""");
        try
        {
            var key = RecalibrateCommand.ResolveKey(null, null, localSettings);
            Assert.Equal("cli-master-key", key);
            Assert.Equal("from-option", RecalibrateCommand.ResolveKey("from-option", "from-env", localSettings));
            Assert.Equal("from-env", RecalibrateCommand.ResolveKey(null, "from-env", localSettings));
            var (withKey, withKeyOutput) = Console80(interactive: false);
            Assert.Equal(RecalibrateCommand.NoSuchJob, await RecalibrateCommand.RunAsync(withKey, keyed.Http.BaseAddress!.ToString(), key, null, null, null, 999, TimeSpan.FromMilliseconds(100), CancellationToken.None));
            Assert.Contains("Job 999 does not exist.", withKeyOutput.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(localSettings);
        }

        // Nothing listening: that, and only that, is "cannot reach".
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var (down, downOutput) = Console80(interactive: false);
        Assert.Equal(RecalibrateCommand.Unreachable, await RecalibrateCommand.RunAsync(down, $"http://127.0.0.1:{closedPort}", null, null, null, null, 1, TimeSpan.FromMilliseconds(100), CancellationToken.None));
        Assert.Contains("Cannot reach the app", downOutput.ToString(), StringComparison.Ordinal);
        Assert.All(Lines(downOutput), line => Assert.True(line.Length <= 80, line));
    }
}
