using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Tests.Infrastructure;
using Spectre.Console;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// <c>recalibrate</c> as a Kubernetes Job runs it (keda/jobs/recalibrate.yaml): a pod restarted
/// under <c>restartPolicy: OnFailure</c> follows the job its first run started (same
/// <c>--name</c>), and only a completed job exits 0.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class RecalibrateJobTests(TestServers servers)
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task<PipelineApp> StartAsync(string prefix, string recalibrationSchedule)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(prefix));
        settings["RecalibrationSchedule"] = recalibrationSchedule;
        var app = await PipelineApp.StartAsync(settings);
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Enumerable.Range(0, 2000)
            .Select(i => new { sensorId = "job-1", recordedAt = T0.AddMinutes(i).ToString("O"), value = i % 50 }).ToArray())).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 2000, TimeSpan.FromSeconds(60), "2000 calibrated rows");
        return app;
    }

    [Fact]
    public async Task A_restarted_run_with_the_same_name_follows_the_job_the_first_run_started()
    {
        await using var app = await StartAsync("cli_name", "*/1 * * * * *");
        const string name = "recalibrate-feb-6f1c2a9e-0b7d-4c51-9d0e-2b4f3a1c5e77";

        // The first pod is killed while it follows its job (SIGTERM: the command stops watching).
        var (first, firstOutput) = PlainConsole.Create();
        using (var killed = new CancellationTokenSource())
        {
            var run = RecalibrateCommand.RunAsync(first, app.Http.BaseAddress!.ToString(), null, "job-1", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", null, name, TimeSpan.FromMilliseconds(100), killed.Token);
            await Eventually.WaitForAsync(() => Task.FromResult(firstOutput.ToString()), o => o.Contains("Started job", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first run to start its job");
            await killed.CancelAsync();
            var firstExit = await run;
            Assert.True(firstExit is RecalibrateCommand.Stopped or 0, firstOutput.ToString());
        }

        // The restarted pod runs the same command: it follows that job to completion.
        var (second, secondOutput) = PlainConsole.Create();
        var exit = await RecalibrateCommand.RunAsync(second, app.Http.BaseAddress!.ToString(), null, "job-1", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", null, name, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        Assert.True(exit == 0, secondOutput.ToString());
        Assert.Contains($"Resumed following job 1 ({name})", secondOutput.ToString(), StringComparison.Ordinal);
        Assert.Contains("Job 1: completed, 2,000 of 2,000", secondOutput.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await app.ScalarAsync("select count(*) from recalibration_job"));
    }

    [Fact]
    public async Task A_cancelled_job_exits_6_for_its_first_run_and_for_a_restarted_one()
    {
        // The producer never runs here: the job stays running until it is cancelled.
        await using var app = await StartAsync("cli_cancel", "0 0 0 1 1 *");
        var post = await app.Http.PostAsJsonAsync("/api/recalibrations", new { sensorId = "job-1", from = "2026-02-01T00:00:00Z", to = "2026-03-01T00:00:00Z", requestId = "cancelled-1" });
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        Assert.Equal("running", (await app.Http.GetFromJsonAsync<JsonElement>($"/api/recalibrations/{id}")).GetProperty("state").GetString());

        var (console, output) = PlainConsole.Create();
        var following = RecalibrateCommand.RunAsync(console, app.Http.BaseAddress!.ToString(), null, null, null, null, id, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await Eventually.WaitForAsync(() => Task.FromResult(output.ToString()), o => o.Contains("running", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the command to follow the running job");
        Assert.Equal(HttpStatusCode.OK, (await app.Http.DeleteAsync($"/api/recalibrations/{id}")).StatusCode);
        Assert.Equal(RecalibrateCommand.Cancelled, await following);
        Assert.Contains($"Job {id}: cancelled", output.ToString(), StringComparison.Ordinal);

        var (restarted, restartedOutput) = PlainConsole.Create();
        Assert.Equal(RecalibrateCommand.Cancelled, await RecalibrateCommand.RunAsync(restarted, app.Http.BaseAddress!.ToString(), null, "job-1",
            "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", null, "cancelled-1", TimeSpan.FromMilliseconds(100), CancellationToken.None));
        Assert.Contains($"Resumed following job {id}", restartedOutput.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await app.ScalarAsync("select count(*) from recalibration_job"));
    }
}
