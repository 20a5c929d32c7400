using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// <c>GET /api/console/pipeline</c>: an instance that ingests and stores raw readings but runs no
/// calibration shows them in throughput, the realtime group's lag (messages and seconds) beside its
/// (test-lowered) threshold, the readings uncalibrated, the dead letter of a poison message by
/// function and reason, and what needs attention; when a second instance calibrates, the same view
/// shows calibrations per second and the lag and the uncalibrated count falling to zero.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class PipelineViewTests(TestServers servers) : IAsyncLifetime
{
    private Dictionary<string, string?> _settings = null!;
    private PipelineApp _noCalibration = null!;

    public async Task InitializeAsync()
    {
        _settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("pipelineview"));
        _settings["DatabaseMode"] = "Plain";
        _settings["ReconcileGracePeriod"] = "00:00:01";
        _settings["LagThreshold:CalibrateRealtime"] = "100";
        _noCalibration = await PipelineApp.StartAsync(new Dictionary<string, string?>(_settings)
        {
            ["AzureFunctionsJobHost:functions:0"] = "IngestReadings",
            ["AzureFunctionsJobHost:functions:1"] = "PersistRawReadings",
            ["AzureFunctionsJobHost:functions:2"] = "GetPipelineView",
        });
    }

    public async Task DisposeAsync() => await _noCalibration.DisposeAsync();

    private async Task<JsonElement> ViewAsync()
    {
        var response = await _noCalibration.Http.GetAsync("/api/console/pipeline");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"pipeline view: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static JsonElement Consumer(JsonElement view, string function) =>
        view.GetProperty("consumers").EnumerateArray().Single(c => c.GetProperty("function").GetString() == function);

    private static long Lag(JsonElement view, string function) => Consumer(view, function).GetProperty("lag").GetInt64();

    private static double Throughput(JsonElement view, string name) => view.GetProperty("throughput").GetProperty(name).GetDouble();

    private static long Uncalibrated(JsonElement view) => view.GetProperty("uncalibrated").GetProperty("count").GetInt64();

    [Fact]
    public async Task Pipeline_view_shows_readings_in_throughput_and_lag_and_uncalibrated_rising_then_clearing()
    {
        var rawTopic = _settings["RawTopic"]!;
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var readings = Enumerable.Range(0, 300).Select(i => (object)new
        {
            sensorId = $"view-{i % 5}",
            recordedAt = start.AddSeconds(i).ToString("O", CultureInfo.InvariantCulture),
            value = 20.0 + i / 1000.0,
        }).ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await _noCalibration.PostReadingsAsync(readings)).StatusCode);
        await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, rawTopic, [("view-0", Encoding.UTF8.GetBytes("{not json"))]);

        // Stored: readings in per second, from the database (all instances).
        var view = await Eventually.WaitForAsync(ViewAsync, v => Throughput(v, "receivedPerSecond") > 0, TimeSpan.FromSeconds(30), "readings in per second");
        Assert.Equal(10, view.GetProperty("throughput").GetProperty("windowSeconds").GetDouble());

        view = await Eventually.WaitForAsync(ViewAsync,
            v => Lag(v, "CalibrateRealtime") == 300 && Lag(v, "PersistRawReadings") == 0 && Uncalibrated(v) == 300 && v.GetProperty("deadLetters").GetArrayLength() > 0,
            TimeSpan.FromSeconds(60), "realtime lag 300, 300 uncalibrated, a dead letter");
        // Kept in the history (not only as the latest read) before the lag falls.
        view = await Eventually.WaitForAsync(ViewAsync,
            v => Consumer(v, "CalibrateRealtime").GetProperty("history").EnumerateArray().Count(h => h.GetProperty("lag").GetInt64() == 300) >= 2,
            TimeSpan.FromSeconds(30), "two samples of lag 300");
        var realtime = Consumer(view, "CalibrateRealtime");
        Assert.Equal(_settings["RealtimeGroup"], realtime.GetProperty("group").GetString());
        Assert.Equal(_settings["RealtimeTopic"], realtime.GetProperty("topic").GetString());
        Assert.Equal(100, realtime.GetProperty("lagThreshold").GetInt64());
        Assert.Equal(4000, Consumer(view, "PersistRawReadings").GetProperty("lagThreshold").GetInt64());
        Assert.Equal(8000, Consumer(view, "CalibrateHistorical").GetProperty("lagThreshold").GetInt64());
        // The oldest waiting message was published when the readings were accepted, moments ago.
        Assert.InRange(realtime.GetProperty("lagSeconds").GetDouble(), 0.0, 300.0);
        Assert.Equal(JsonValueKind.Null, realtime.GetProperty("clearsInSeconds").ValueKind);
        Assert.Equal(300, realtime.GetProperty("partitions").EnumerateArray().Sum(p => p.GetProperty("lag").GetInt64()));
        Assert.All(realtime.GetProperty("partitions").EnumerateArray(), p =>
            Assert.Equal(p.GetProperty("end").GetInt64() - (p.GetProperty("committed").ValueKind == JsonValueKind.Number ? p.GetProperty("committed").GetInt64() : 0), p.GetProperty("lag").GetInt64()));
        Assert.Contains(realtime.GetProperty("history").EnumerateArray(), h => h.GetProperty("lag").GetInt64() == 300);
        Assert.Equal(0, Consumer(view, "PersistRawReadings").GetProperty("lagSeconds").GetDouble());
        Assert.Equal(1.0, view.GetProperty("uncalibrated").GetProperty("gracePeriodSeconds").GetDouble());
        Assert.InRange(view.GetProperty("uncalibrated").GetProperty("oldestAgeSeconds").GetDouble(), 1.0, 300.0);

        var deadLetter = Assert.Single(view.GetProperty("deadLetters").EnumerateArray());
        Assert.Equal("PersistRawReadings", deadLetter.GetProperty("function").GetString());
        Assert.Equal(rawTopic, deadLetter.GetProperty("topic").GetString());
        Assert.Equal(1, deadLetter.GetProperty("count").GetInt64());
        Assert.False(string.IsNullOrEmpty(deadLetter.GetProperty("reason").GetString()));
        Assert.Equal(0, view.GetProperty("ingestErrors").GetProperty("byReason").GetArrayLength());
        Assert.Equal(0, view.GetProperty("ingestErrors").GetProperty("notStored").GetInt64());

        var attention = view.GetProperty("attention").EnumerateArray()
            .Select(a => (Severity: a.GetProperty("severity").GetString(), What: a.GetProperty("what").GetString(), Subject: a.GetProperty("subject").GetString())).ToList();
        Assert.Contains(("warning", "lag", "CalibrateRealtime"), attention);
        Assert.Contains(("warning", "deadLetters", "PersistRawReadings"), attention);
        Assert.Contains(("warning", "uncalibrated", "readings"), attention);
        Assert.DoesNotContain(attention, a => a.Subject == "PersistRawReadings" && a.What == "lag");

        // Another instance calibrates: this one's view shows it (committed offsets and the database are shared).
        await using (await PipelineApp.StartAsync(_settings))
        {
            view = await Eventually.WaitForAsync(ViewAsync, v => Throughput(v, "calibratedPerSecond") > 0, TimeSpan.FromSeconds(60), "calibrated per second");
            view = await Eventually.WaitForAsync(ViewAsync, v => Lag(v, "CalibrateRealtime") == 0 && Uncalibrated(v) == 0, TimeSpan.FromSeconds(60), "realtime lag 0, none uncalibrated");
        }

        realtime = Consumer(view, "CalibrateRealtime");
        Assert.Equal(0.0, realtime.GetProperty("lagSeconds").GetDouble());
        Assert.Equal(0.0, realtime.GetProperty("clearsInSeconds").GetDouble());
        var history = realtime.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("lag").GetInt64()).ToList();
        Assert.Contains(300, history);
        Assert.Equal(0, history[^1]);
        Assert.DoesNotContain(view.GetProperty("attention").EnumerateArray(), a => a.GetProperty("what").GetString() is "lag" or "uncalibrated");
    }
}
