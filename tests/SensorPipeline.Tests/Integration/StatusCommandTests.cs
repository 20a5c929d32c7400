using System.Globalization;
using System.Net;
using System.Text;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Tests.Infrastructure;
using Spectre.Console;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// <c>status</c> against running apps with real readings, its output as a non-terminal sees it (80
/// columns, plain text): exit 0 when nothing needs attention, 1 for a warning (lag over a
/// test-lowered threshold, a dead letter), 2 for lag beyond partitions × threshold, 3 with a wrong
/// key or no app.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class StatusCommandTests(TestServers servers)
{
    private const string Key = "status-test-key";

    private static async Task<(int Exit, string Output)> StatusAsync(PipelineApp app, string? key)
    {
        var (console, output) = PlainConsole.Create();
        var exit = await StatusCommand.RunAsync(console, app.Http.BaseAddress!.ToString(), key, watch: false, TimeSpan.FromSeconds(1), CancellationToken.None);
        var text = output.ToString();
        Assert.All(text.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 80, $"{line.Length} columns: {line}"));
        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal);
        return (exit, text);
    }

    private static object[] Readings(string sensor, int count) =>
        Enumerable.Range(0, count).Select(i => (object)new
        {
            sensorId = sensor,
            recordedAt = DateTimeOffset.UtcNow.AddHours(-1).AddSeconds(i).ToString("O", CultureInfo.InvariantCulture),
            value = 20.0 + i / 100.0,
        }).ToArray();

    [Fact]
    public async Task Status_exits_0_when_healthy_1_with_a_dead_letter_and_3_with_a_wrong_key()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("statuscmd"));
        settings["DatabaseMode"] = "Plain";
        settings["Keys:Master"] = Key;
        await using var app = await PipelineApp.StartAsync(settings);
        app.Http.DefaultRequestHeaders.Add("x-functions-key", Key);
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("status-cmd", 200))).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 200, TimeSpan.FromSeconds(60), "200 calibrated rows");

        var (exit, output) = await Eventually.WaitForAsync(() => StatusAsync(app, Key), r => r.Exit == StatusCommand.Healthy && System.Text.RegularExpressions.Regex.Matches(r.Output, @"  total \[\.{24}\]\s+0 / ").Count == 3,
            TimeSpan.FromSeconds(60), "status exit 0 with every group's lag 0");
        Assert.Contains("PersistRawReadings\n  group " + settings["PersistRawGroup"] + "  topic " + settings["RawTopic"], output, StringComparison.Ordinal);
        Assert.Contains("CalibrateRealtime\n  group " + settings["RealtimeGroup"] + "  topic " + settings["RealtimeTopic"], output, StringComparison.Ordinal);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"  total \[\.{24}\]\s+0 / 4000"), output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"  total \[\.{24}\]\s+0 / 2000"), output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"  p0    \[\.{24}\]\s+0"), output);
        Assert.Contains("Dead letters  none", output, StringComparison.Ordinal);
        Assert.Contains("OK: nothing needs attention.", output, StringComparison.Ordinal);

        // A poison message: once dead-lettered, status warns and exits 1.
        await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, settings["RawTopic"]!, [("status-cmd", Encoding.UTF8.GetBytes("{not json"))]);
        (exit, output) = await Eventually.WaitForAsync(() => StatusAsync(app, Key), r => r.Exit != StatusCommand.Healthy, TimeSpan.FromSeconds(60), "status exit 1");
        Assert.True(exit == StatusCommand.Warning, output);
        Assert.Contains("Dead letters  1", output, StringComparison.Ordinal);
        Assert.Contains("WARNING  PersistRawReadings: 1 dead letter(s) from " + settings["RawTopic"], output, StringComparison.Ordinal);

        (exit, output) = await StatusAsync(app, "wrong-key");
        Assert.Equal(StatusCommand.Unreachable, exit);
        Assert.Contains("The key was refused (401)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_exits_1_when_lag_exceeds_a_lowered_threshold_and_2_beyond_partitions_times_threshold()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("statuslag"));
        settings["DatabaseMode"] = "Plain";
        settings["LagThreshold:PersistRawReadings"] = "10";
        settings["AzureFunctionsJobHost:functions:0"] = "IngestReadings";
        settings["AzureFunctionsJobHost:functions:1"] = "GetPipelineView";
        await using var app = await PipelineApp.StartAsync(settings);

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("lag-a", 30))).StatusCode);
        var (exit, output) = await Eventually.WaitForAsync(() => StatusAsync(app, null), r => r.Output.Contains("     30 / 10", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "lag 30 of 10");
        Assert.True(exit == StatusCommand.Warning, output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"  total \[#{24}>\s+30 / 10"), output);
        Assert.Contains("WARNING  PersistRawReadings: lag 30 is above the threshold 10", output, StringComparison.Ordinal);

        // 4 partitions × 10: past 40, more than KEDA can scale out for.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("lag-b", 20))).StatusCode);
        (exit, output) = await Eventually.WaitForAsync(() => StatusAsync(app, null), r => r.Output.Contains("     50 / 10", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "lag 50 of 10");
        Assert.True(exit == StatusCommand.Critical, output);
        Assert.Contains("CRITICAL PersistRawReadings: lag 50 is above 40", output, StringComparison.Ordinal);

        // --watch without a terminal: a new block every interval until stopped, exit code of the last.
        var (console, watched) = PlainConsole.Create();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        exit = await StatusCommand.RunAsync(console, app.Http.BaseAddress!.ToString(), null, watch: true, TimeSpan.FromMilliseconds(300), stop.Token);
        Assert.Equal(StatusCommand.Critical, exit);
        Assert.True(System.Text.RegularExpressions.Regex.Matches(watched.ToString(), "^Pipeline http", System.Text.RegularExpressions.RegexOptions.Multiline).Count >= 2, watched.ToString());
    }

    [Fact]
    public async Task Status_exits_3_when_no_app_answers()
    {
        var (console, output) = PlainConsole.Create();
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var exit = await StatusCommand.RunAsync(console, $"http://127.0.0.1:{port}", null, watch: false, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(StatusCommand.Unreachable, exit);
        Assert.Contains("Cannot reach the app", output.ToString(), StringComparison.Ordinal);
    }
}
