using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// <c>/api/status</c> and <c>/metrics</c>: an instance that runs only IngestReadings (and the
/// status endpoint) sees the persist consumer's lag rise; a second instance with every function
/// brings it to zero; when that instance stops, the lag rises again from its committed offsets.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class StatusApiTests(TestServers servers) : IAsyncLifetime
{
    private Dictionary<string, string?> _settings = null!;
    private PipelineApp _ingestOnly = null!;

    public async Task InitializeAsync()
    {
        _settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("status"));
        _settings["DatabaseMode"] = "Plain";
        var ingestOnly = new Dictionary<string, string?>(_settings)
        {
            ["AzureFunctionsJobHost:functions:0"] = "IngestReadings",
            ["AzureFunctionsJobHost:functions:1"] = "GetStatus",
        };
        _ingestOnly = await PipelineApp.StartAsync(ingestOnly);
    }

    public async Task DisposeAsync() => await _ingestOnly.DisposeAsync();

    private static object[] Readings(int count, DateTimeOffset start) =>
        Enumerable.Range(0, count).Select(i => (object)new
        {
            sensorId = $"status-{i % 5}",
            recordedAt = start.AddSeconds(i).ToString("O", CultureInfo.InvariantCulture),
            value = 20.0 + i / 1000.0,
        }).ToArray();

    private async Task<JsonElement> StatusAsync()
    {
        var response = await _ingestOnly.Http.GetAsync("/api/status");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"status: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static JsonElement Consumer(JsonElement status, string function) =>
        status.GetProperty("consumers").EnumerateArray().Single(c => c.GetProperty("function").GetString() == function);

    private static long Lag(JsonElement status, string function) => Consumer(status, function).GetProperty("lag").GetInt64();

    [Fact]
    public async Task Status_shows_lag_rising_while_a_consumer_is_stopped_and_falling_to_zero_when_it_runs()
    {
        var rawTopic = _settings["RawTopic"]!;
        var start = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.Accepted, (await _ingestOnly.PostReadingsAsync(Readings(300, start))).StatusCode);
        // A poison message: the persist consumer will dead-letter it once it runs.
        await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, rawTopic, [("status-0", Encoding.UTF8.GetBytes("{not json"))]);
        // Raw readings stuck uncalibrated for ten minutes (as if their calibration message was lost).
        await _ingestOnly.ExecuteAsync("""
            insert into raw_data (sensor_id, recorded_at, raw_value, received_at)
            select 'stuck', timestamptz '2026-11-01T00:00:00Z' + g * interval '1 minute', g, now() - interval '10 minutes' - g * interval '1 second'
              from generate_series(1, 7) g
            """);

        // A running recalibration (nothing in this instance runs its producer).
        await _ingestOnly.ExecuteAsync("""
            insert into recalibration_job (sensor_id, from_time, to_time, reason, state, total)
            values ('stuck', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', 'status test', 'running', 7)
            """);

        var status = await Eventually.WaitForAsync(StatusAsync, s => Lag(s, "PersistRawReadings") == 301, TimeSpan.FromSeconds(30), "persist lag 301");
        var persist = Consumer(status, "PersistRawReadings");
        Assert.Equal(_settings["PersistRawGroup"], persist.GetProperty("group").GetString());
        Assert.Equal(rawTopic, persist.GetProperty("topic").GetString());
        var partitions = persist.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(4, partitions.Count);
        Assert.Equal(301, partitions.Sum(p => p.GetProperty("lag").GetInt64()));
        // Nothing committed yet: lag counts from the earliest offset.
        Assert.All(partitions, p => Assert.Equal(JsonValueKind.Null, p.GetProperty("committed").ValueKind));
        Assert.Equal(0, Lag(status, "CalibrateRealtime"));
        Assert.Equal(0, Lag(status, "CalibrateHistorical"));
        Assert.Equal(_settings["RealtimeGroup"], Consumer(status, "CalibrateRealtime").GetProperty("group").GetString());
        Assert.Equal("plain", status.GetProperty("database").GetProperty("mode").GetString());
        var job = Assert.Single(status.GetProperty("recalibrations").EnumerateArray());
        Assert.Equal("stuck", job.GetProperty("sensorId").GetString());
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal(7, job.GetProperty("total").GetInt64());
        Assert.Equal(0, job.GetProperty("published").GetInt64());
        Assert.Equal(0, job.GetProperty("calibrated").GetInt64());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("kafkaError").ValueKind);
        var uncalibrated = status.GetProperty("uncalibrated");
        Assert.Equal(7, uncalibrated.GetProperty("count").GetInt64());
        Assert.InRange(uncalibrated.GetProperty("oldestAgeSeconds").GetDouble(), 600, 3600);
        var deadLetter = status.GetProperty("deadLetters").EnumerateArray().Single(d => d.GetProperty("topic").GetString() == rawTopic + ".deadletter");
        Assert.True(deadLetter.GetProperty("exists").GetBoolean());
        Assert.Equal(0, deadLetter.GetProperty("messages").GetInt64());

        // /metrics: Prometheus text with the pipeline's counters and the lag gauge of this group.
        var lagLine = await Eventually.WaitForAsync(async () =>
            {
                var text = await _ingestOnly.Http.GetStringAsync("/metrics");
                Assert.Contains("sensorpipeline_readings_accepted", text, StringComparison.Ordinal);
                return text.Split('\n').FirstOrDefault(l => l.StartsWith("messaging_kafka_consumer_lag{", StringComparison.Ordinal) && l.Contains(_settings["PersistRawGroup"]!, StringComparison.Ordinal)) ?? "";
            },
            line => System.Text.RegularExpressions.Regex.IsMatch(line, @"\} 301( \d+)?$"), TimeSpan.FromSeconds(30), "the lag gauge of the persist group at 301");
        Assert.Contains(rawTopic, lagLine, StringComparison.Ordinal);

        // Every function running: the lag falls to zero, the poison message is dead-lettered.
        await using (var all = await PipelineApp.StartAsync(_settings))
        {
            await Eventually.WaitForAsync(() => all.ScalarAsync("select count(*) from calibrated_temperature"), n => n >= 300, TimeSpan.FromSeconds(90), "300 calibrated rows");
            status = await Eventually.WaitForAsync(StatusAsync,
                s => Lag(s, "PersistRawReadings") == 0 && Lag(s, "CalibrateRealtime") == 0,
                TimeSpan.FromSeconds(60), "persist and realtime lag 0");
            // Partitions with messages are committed up to their end (an empty one may have no commit).
            Assert.All(Consumer(status, "PersistRawReadings").GetProperty("partitions").EnumerateArray().Where(p => p.GetProperty("highWatermark").GetInt64() > 0),
                p => Assert.Equal(p.GetProperty("highWatermark").GetInt64(), p.GetProperty("committed").GetInt64()));
            Assert.Equal(1, status.GetProperty("deadLetters").EnumerateArray()
                .Single(d => d.GetProperty("topic").GetString() == rawTopic + ".deadletter").GetProperty("messages").GetInt64());
        }

        // Stopped again: new readings are lag once more, counted from the committed offsets.
        Assert.Equal(HttpStatusCode.Accepted, (await _ingestOnly.PostReadingsAsync(Readings(120, start.AddHours(1)))).StatusCode);
        status = await Eventually.WaitForAsync(StatusAsync, s => Lag(s, "PersistRawReadings") == 120, TimeSpan.FromSeconds(30), "persist lag 120");
        var after = Consumer(status, "PersistRawReadings").GetProperty("partitions").EnumerateArray().ToList();
        Assert.Contains(after, p => p.GetProperty("committed").ValueKind == JsonValueKind.Number && p.GetProperty("lag").GetInt64() > 0);
        Assert.All(after.Where(p => p.GetProperty("committed").ValueKind == JsonValueKind.Number),
            p => Assert.Equal(p.GetProperty("highWatermark").GetInt64() - p.GetProperty("committed").GetInt64(), p.GetProperty("lag").GetInt64()));
    }
}
