using System.Collections.Concurrent;
using System.Net;
using SensorPipeline.Runtime.Embedded;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// Raw is sacred under faults: every reading answered 202 ends up raw and calibrated exactly once
/// when the database or the broker goes away for a while, and when consumers come and go.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class FaultTests(TestServers servers)
{
    /// <summary>Posts batches of unique readings until stopped; remembers which were accepted (202).</summary>
    private sealed class Poster(PipelineApp app, string prefix)
    {
        private int _next;

        public ConcurrentBag<(string Sensor, DateTimeOffset At)> Accepted { get; } = [];

        public int Rejected;

        public async Task RunAsync(CancellationToken stop)
        {
            var start = new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);
            while (!stop.IsCancellationRequested)
            {
                var batch = Enumerable.Range(Interlocked.Add(ref _next, 50) - 50, 50)
                    .Select(i => (Sensor: $"{prefix}-{i % 10}", At: start.AddSeconds(i))).ToList();
                try
                {
                    var response = await app.PostReadingsAsync(batch.Select(r => new { sensorId = r.Sensor, recordedAt = r.At.ToString("O"), value = 1.0 }).ToArray());
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        foreach (var r in batch)
                        {
                            Accepted.Add(r);
                        }
                    }
                    else
                    {
                        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                        Assert.Equal("5", response.Headers.RetryAfter?.ToString());
                        Interlocked.Increment(ref Rejected);
                    }
                }
                catch (TaskCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }
    }

    private static async Task AssertEveryAcceptedReadingStoredOnceAsync(PipelineApp app, Poster poster, string prefix)
    {
        var accepted = poster.Accepted.Count;
        Assert.True(accepted > 0, "nothing was accepted");
        await Eventually.WaitForAsync(
            () => app.ScalarAsync($"select count(*) from calibrated_temperature where sensor_id like '{prefix}-%'"),
            n => n >= accepted, TimeSpan.FromSeconds(120), $"{accepted} accepted readings calibrated");
        var raw = await app.ScalarAsync($"select count(*) from raw_data where sensor_id like '{prefix}-%'");
        var calibrated = await app.ScalarAsync($"select count(*) from calibrated_temperature where sensor_id like '{prefix}-%'");
        Assert.Equal(raw, calibrated);
        // Every accepted reading is there (503-answered ones may be too: the client retries them anyway).
        var missing = 0;
        foreach (var chunk in poster.Accepted.Chunk(2000))
        {
            var sensors = string.Join(",", chunk.Select(r => $"'{r.Sensor}'"));
            var times = string.Join(",", chunk.Select(r => $"'{r.At:O}'::timestamptz"));
            missing += (int)await app.ScalarAsync($"""
                select count(*) from unnest(array[{sensors}], array[{times}]) as a(s, t)
                 where not exists (select 1 from raw_data r where r.sensor_id = a.s and r.recorded_at = a.t)
                """);
        }

        Assert.Equal(0, missing);
    }

    [Fact]
    public async Task Database_outage_loses_nothing_and_duplicates_nothing()
    {
        await using var postgres = await EmbeddedPostgres.StartAsync();
        var settings = await PipelineApp.NewSettingsAsync(servers, postgres.ConnectionString);
        await using var app = await PipelineApp.StartAsync(settings);
        var poster = new Poster(app, "dbdown");
        using var stop = new CancellationTokenSource();
        var posting = poster.RunAsync(stop.Token);

        await Task.Delay(1500);
        await postgres.StopServerAsync();
        await Task.Delay(4000);
        await postgres.StartServerAsync();
        await Task.Delay(1500);
        await stop.CancelAsync();
        await posting;

        await AssertEveryAcceptedReadingStoredOnceAsync(app, poster, "dbdown");
    }

    [Fact]
    public async Task Broker_outage_answers_503_for_what_it_did_not_acknowledge_and_loses_nothing_acknowledged()
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("brokerdown"));
        settings["KafkaBrokerList"] = kafka.BootstrapServers;
        foreach (var key in new[] { "RawTopic", "RealtimeTopic", "HistoricalTopic" })
        {
            kafka.CreateTopic(settings[key]!, 4);
            kafka.CreateTopic(settings[key] + ".deadletter", 1);
        }

        settings["AzureFunctionsJobHost:extensions:kafka:messageTimeoutMs"] = "2000";
        await using var app = await PipelineApp.StartAsync(settings);
        var poster = new Poster(app, "kdown");
        using var stop = new CancellationTokenSource();
        var posting = poster.RunAsync(stop.Token);

        await Task.Delay(1500);
        kafka.SetBrokerDown(1);
        await Task.Delay(5000);
        kafka.SetBrokerUp(1);
        await Task.Delay(3000);
        await stop.CancelAsync();
        await posting;

        Assert.True(poster.Rejected > 0, "the broker outage should have produced 503 answers");
        await AssertEveryAcceptedReadingStoredOnceAsync(app, poster, "kdown");
    }

    [Fact]
    public async Task Consumers_joining_and_leaving_mid_stream_lose_nothing()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("rebalance"));
        await using var first = await PipelineApp.StartAsync(settings);
        var poster = new Poster(first, "moving");
        using var stop = new CancellationTokenSource();
        var posting = poster.RunAsync(stop.Token);

        await Task.Delay(1500);
        var second = await PipelineApp.StartAsync(settings);
        await Task.Delay(3000);
        await second.DisposeAsync();
        await Task.Delay(1500);
        await stop.CancelAsync();
        await posting;

        await AssertEveryAcceptedReadingStoredOnceAsync(first, poster, "moving");
    }

    [Fact]
    public async Task Ingest_answers_503_while_the_raw_backlog_is_over_its_limit()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("backlog"));
        settings["IngestMaxRawBacklog"] = "100";
        settings["AzureFunctionsJobHost:functions:0"] = "IngestReadings";
        await using var ingestOnly = await PipelineApp.StartAsync(settings);
        var readings = Enumerable.Range(0, 150).Select(i => new { sensorId = "b-1", recordedAt = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i).ToString("O"), value = 1.0 }).ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await ingestOnly.PostReadingsAsync(readings)).StatusCode);

        var refused = await Eventually.WaitForAsync(
            () => ingestOnly.PostReadingsAsync(new { sensorId = "b-2", recordedAt = "2026-08-02T00:00:00Z", value = 1.0 }),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15), "a 503 once the backlog is measured");
        Assert.Contains("readings behind", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());

        // A consumer catches up; ingest accepts again.
        settings.Remove("AzureFunctionsJobHost:functions:0");
        await using var consumers = await PipelineApp.StartAsync(settings);
        await Eventually.WaitForAsync(
            () => ingestOnly.PostReadingsAsync(new { sensorId = "b-3", recordedAt = "2026-08-03T00:00:00Z", value = 1.0 }),
            r => r.StatusCode == HttpStatusCode.Accepted, TimeSpan.FromSeconds(30), "a 202 once the backlog is consumed");
    }
}
