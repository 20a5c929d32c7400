using System.Net;
using System.Net.Http.Json;
using System.Text;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>HTTP in, rows out: the whole app on a real PostgreSQL and the Kafka protocol.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class PipelineEndToEndTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("e2e"));
        settings["ReconcileSchedule"] = "*/1 * * * * *";
        settings["ReconcileGracePeriod"] = "00:00:03";
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static object[] Readings(int sensors, int perSensor, DateTimeOffset start) =>
        Enumerable.Range(0, sensors).SelectMany(s => Enumerable.Range(0, perSensor).Select(i => (object)new
        {
            sensorId = $"sensor-{s:00}",
            recordedAt = start.AddSeconds(i * 10).ToString("O"),
            value = 20.0 + s + i / 100.0,
        })).ToArray();

    [Fact]
    public async Task Readings_posted_in_batches_end_up_raw_and_calibrated_once_and_replays_store_nothing_new()
    {
        var readings = Readings(20, 100, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        foreach (var chunk in readings.Chunk(250))
        {
            var response = await _app.PostReadingsAsync(chunk);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal(chunk.Length, (await response.Content.ReadFromJsonAsync<AcceptedBody>())!.Accepted);
        }

        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 2000, TimeSpan.FromSeconds(60), "2000 calibrated rows");
        Assert.Equal(2000, await _app.ScalarAsync("select count(*) from raw_data"));
        Assert.Equal(20, await _app.ScalarAsync("select count(distinct sensor_id) from raw_data"));
        // Identity calibration (version 0) for sensors without parameters: value equals raw.
        Assert.Equal(0, await _app.ScalarAsync("""
            select count(*) from calibrated_temperature c join raw_data r on r.id = c.raw_data_id and r.recorded_at = c.recorded_at
             where c.value <> r.raw_value or c.calibration_version <> 0 or c.sensor_id <> r.sensor_id
            """));

        // The same readings again: accepted (duplicates are normal), nothing stored twice.
        foreach (var chunk in readings.Chunk(1000))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await _app.PostReadingsAsync(chunk)).StatusCode);
        }

        var persistGroup = _app.Settings["PersistRawGroup"]!;
        var rawTopic = _app.Settings["RawTopic"]!;
        await Eventually.WaitForAsync(
            () => Task.FromResult(KafkaTestClient.CommittedTotal(servers.KafkaBootstrapServers, rawTopic, persistGroup)),
            n => n == 4000, TimeSpan.FromSeconds(60), "the replayed readings to be consumed and committed");
        Assert.Equal(2000, await _app.ScalarAsync("select count(*) from raw_data"));
        Assert.Equal(2000, await _app.ScalarAsync("select count(*) from calibrated_temperature"));
    }

    [Fact]
    public async Task Invalid_request_is_rejected_whole_with_every_problem_and_stores_nothing()
    {
        var body = new object[]
        {
            new { sensorId = "ok-1", recordedAt = "2026-11-23T10:00:00Z", value = 21.5 },
            new { sensorId = "bad id; drop table raw_data", recordedAt = "2026-11-23T10:00:00Z", value = 21.5 },
            new { sensorId = "ok-2", recordedAt = "2026-11-23T10:00:00", value = 21.5 },
            new { sensorId = "ok-3", recordedAt = "2026-11-23T10:00:00Z", value = "NaN" },
            new { sensorId = "ok-4", recordedAt = "2026-11-23T10:00:00Z" },
        };
        var response = await _app.PostReadingsAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<ErrorBody>())!.Errors;
        Assert.Equal([(1, "sensorId"), (2, "recordedAt"), (3, "value"), (4, "value")], errors.Select(e => (e.Index ?? -1, e.Field ?? "")).ToArray());

        using var malformed = new StringContent("[{\"sensorId\":", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await _app.Http.PostAsync("/api/readings", malformed)).StatusCode);
        using var text = new StringContent("sensor-1,21.5", Encoding.UTF8, "text/csv");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _app.Http.PostAsync("/api/readings", text)).StatusCode);
        var tooMany = Readings(1, 5001, DateTimeOffset.UtcNow.AddDays(-1));
        Assert.Equal(HttpStatusCode.BadRequest, (await _app.PostReadingsAsync(tooMany)).StatusCode);

        // Give the pipeline time to store anything it (wrongly) published, then check nothing was.
        await Task.Delay(1500);
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from raw_data"));
        Assert.Equal(0L, KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, _app.Settings["RawTopic"]!, 1, TimeSpan.FromSeconds(2)).Count);
    }

    [Fact]
    public async Task Raw_reading_whose_calibration_message_was_lost_is_calibrated_by_the_timer()
    {
        // As if the process died between the raw insert and the publish.
        await _app.ExecuteAsync("""
            insert into raw_data (sensor_id, recorded_at, raw_value, received_at)
            select 'lost-' || g, timestamptz '2026-11-20T00:00:00Z' + g * interval '1 minute', 10 + g, now() - interval '10 minutes'
              from generate_series(1, 25) g
            """);
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from calibrated_temperature"));
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 25, TimeSpan.FromSeconds(30), "the timer to calibrate the 25 lost readings");
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from calibrated_temperature where value <> 10 + cast(substr(sensor_id, 6) as int)"));
    }

    [Fact]
    public async Task Health_ready_reports_a_migrated_database()
    {
        var response = await _app.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.Http.GetAsync("/health/live")).StatusCode);
    }

    private sealed record AcceptedBody(int Accepted);

    private sealed record ErrorItem(int? Index, string? Field, string Message);

    private sealed record ErrorBody(List<ErrorItem> Errors);
}
