using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SensorPipeline.Runtime.Embedded;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// Progress, not presence, is health: a consumer whose database is down long enough makes the
/// instance unready with the reason, and it is ready again by itself once the database is back,
/// with nothing lost; an ingest backlog that does not shrink does the same. Short stall timeouts.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class StallTests(TestServers servers)
{
    private static object[] Readings(string sensor, int from, int count) =>
        Enumerable.Range(from, count).Select(i => (object)new
        {
            sensorId = sensor,
            recordedAt = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i).ToString("O"),
            value = 1.0,
        }).ToArray();

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(PipelineApp app)
    {
        using var response = await app.Http.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.Clone());
    }

    private static string? ProgressReason(JsonElement ready, string name) =>
        ready.GetProperty("checks").GetProperty("progress").TryGetProperty("data", out var data) &&
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var reason) ? reason.GetString() : null;

    [Fact]
    public async Task Database_outage_longer_than_the_stall_timeout_shows_stalled_then_ready_again_with_nothing_lost()
    {
        await using var postgres = await EmbeddedPostgres.StartAsync();
        var settings = await PipelineApp.NewSettingsAsync(servers, postgres.ConnectionString);
        settings["KafkaStallTimeout"] = "00:00:02";
        await using var app = await PipelineApp.StartAsync(settings);
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("stall-1", 0, 100))).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 100, TimeSpan.FromSeconds(60), "100 readings calibrated");
        await Eventually.WaitForAsync(() => ReadyAsync(app), r => r.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "ready before the outage");

        await postgres.StopServerAsync();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(Readings("stall-1", 100 + (i * 50), 50))).StatusCode);
        }

        var (status, body) = await Eventually.WaitForAsync(
            () => ReadyAsync(app), r => ProgressReason(r.Body, "PersistRawReadings") is not null, TimeSpan.FromSeconds(60), "PersistRawReadings reported stalled");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var reason = ProgressReason(body, "PersistRawReadings")!;
        Assert.Contains("with no progress for", reason, StringComparison.Ordinal);
        Assert.Contains("dependency unavailable", reason, StringComparison.Ordinal);
        var state = app.Services.GetRequiredService<ConsumerHealth>().Current().Single(s => s.Function == "PersistRawReadings");
        Assert.True(state.Stalled);
        Assert.True(state.Lag > 0);
        // /api/status answers while the database is down, with the same per-function state.
        using (var during = JsonDocument.Parse(await app.Http.GetStringAsync("/api/status")))
        {
            Assert.Equal(JsonValueKind.String, during.RootElement.GetProperty("database").GetProperty("error").ValueKind);
            var stalledItem = during.RootElement.GetProperty("progress").GetProperty("consumers").EnumerateArray()
                .Single(c => c.GetProperty("function").GetString() == "PersistRawReadings");
            Assert.True(stalledItem.GetProperty("stalled").GetBoolean());
            Assert.Contains("dependency unavailable", stalledItem.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        await postgres.StartServerAsync();
        // The test's own pooled connections died with the server.
        Npgsql.NpgsqlConnection.ClearAllPools();
        await Eventually.WaitForAsync(() => ReadyAsync(app), r => r.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(120), "ready again by itself");
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 300, TimeSpan.FromSeconds(60), "300 readings calibrated");
        Assert.Equal(300, await app.ScalarAsync("select count(*) from raw_data"));
        Assert.Equal(300, await app.ScalarAsync("select count(distinct (sensor_id, recorded_at)) from raw_data"));

        // /api/status carries the same per-function state.
        using var statusBody = JsonDocument.Parse(await app.Http.GetStringAsync("/api/status"));
        var persist = statusBody.RootElement.GetProperty("progress").GetProperty("consumers").EnumerateArray()
            .Single(c => c.GetProperty("function").GetString() == "PersistRawReadings");
        Assert.False(persist.GetProperty("stalled").GetBoolean());
        Assert.True(persist.GetProperty("partitionsAssigned").GetInt32() > 0);
        Assert.NotEqual(JsonValueKind.Null, persist.GetProperty("lastBatchAt").ValueKind);
    }

    [Fact]
    public async Task Ingest_backlog_that_does_not_shrink_makes_ingest_unready_until_a_consumer_drains_it()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("stallbacklog"));
        settings["IngestMaxRawBacklog"] = "100";
        settings["KafkaStallTimeout"] = "00:00:02";
        settings["AzureFunctionsJobHost:functions:0"] = "IngestReadings";
        await using var ingestOnly = await PipelineApp.StartAsync(settings);
        Assert.Equal(HttpStatusCode.Accepted, (await ingestOnly.PostReadingsAsync(Readings("stall-2", 0, 150))).StatusCode);

        var (status, body) = await Eventually.WaitForAsync(
            () => ReadyAsync(ingestOnly), r => ProgressReason(r.Body, "IngestReadings") is not null, TimeSpan.FromSeconds(60), "ingest reported stalled");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("IngestMaxRawBacklog", ProgressReason(body, "IngestReadings"), StringComparison.Ordinal);
        // The consumer does not run here: its stall is shown in status, not held against this instance.
        Assert.Null(ProgressReason(body, "PersistRawReadings"));

        settings.Remove("AzureFunctionsJobHost:functions:0");
        await using var consumers = await PipelineApp.StartAsync(settings);
        await Eventually.WaitForAsync(() => ReadyAsync(ingestOnly), r => r.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "ingest ready again by itself");
        await Eventually.WaitForAsync(() => ingestOnly.ScalarAsync("select count(*) from raw_data"), n => n == 150, TimeSpan.FromSeconds(60), "150 readings stored");
    }
}
