using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;
using static SensorPipeline.Tests.Formats.LedgerTestClient;

namespace SensorPipeline.Tests.Formats;

/// <summary>
/// Refused payloads in the error ledger (the same errors the 400 gave, door, source, excerpt),
/// listed, counted in /api/status, replayed after a fix; the flood limit; and a persist that fails
/// before its commit after the 202 never leaves a reading without its payload row.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class IngestErrorLedgerTests(TestServers servers)
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static string Native(string sensor, double value, int minute = 0) =>
        $$"""{"sensorId":"{{sensor}}","recordedAt":"{{At.AddMinutes(minute).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}}","value":{{value.ToString(CultureInfo.InvariantCulture)}}}""";

    private async Task<Dictionary<string, string?>> SettingsAsync(string name)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(name));
        RequireKeys(settings);
        return settings;
    }

    [Fact]
    public async Task Refused_payloads_are_in_the_error_ledger_with_the_answer_s_errors_and_are_replayed_after_a_fix()
    {
        var settings = await SettingsAsync("errors");
        settings["IngestMaxValue"] = "30";
        var body = Native("err-1", 35);
        long errorId;
        await using (var strict = await PipelineApp.StartAsync(settings))
        {
            var refused = await PostAsync(strict, "/api/readings", body, FunctionKey);
            Assert.Equal(400, refused.Status);
            var unauthorized = await PostAsync(strict, "/api/readings", body, key: null);
            Assert.Equal(401, unauthorized.Status);

            var listed = await Eventually.WaitForAsync(
                () => GetAsync(strict, "/api/ingest-errors", FunctionKey), r => r.Body.GetProperty("errors").GetArrayLength() == 2, TimeSpan.FromSeconds(30), "2 refusals listed");
            var errors = listed.Body.GetProperty("errors").EnumerateArray().ToList();
            // Newest first: the 401 (refused before its body was read: no excerpt), then the 400.
            Assert.Equal(("unauthorized", 401, "http", "127.0.0.1", (string?)null), Summary(errors[0]));
            Assert.Equal(("invalid", 400, "http", "key", body), Summary(errors[1]));
            Assert.Equal(refused.Body.GetProperty("errors").GetRawText(), errors[1].GetProperty("errors").GetRawText());
            Assert.Equal("native", errors[1].GetProperty("format").GetString());
            errorId = errors[1].GetProperty("id").GetInt64();

            // Filters.
            Assert.Equal(1, (await GetAsync(strict, "/api/ingest-errors?reason=invalid", FunctionKey)).Body.GetProperty("errors").GetArrayLength());
            Assert.Equal(0, (await GetAsync(strict, "/api/ingest-errors?device=nobody", FunctionKey)).Body.GetProperty("errors").GetArrayLength());
            Assert.Equal(0, (await GetAsync(strict, "/api/ingest-errors?from=2100-01-01T00:00:00Z", FunctionKey)).Body.GetProperty("errors").GetArrayLength());
            Assert.Equal(400, (await GetAsync(strict, "/api/ingest-errors?from=yesterday", FunctionKey)).Status);

            // Counted by reason in /api/status.
            var status = await GetAsync(strict, "/api/status", FunctionKey);
            Assert.Equal("""{"byReason":[{"reason":"invalid","count":1},{"reason":"unauthorized","count":1}],"notStored":0}""",
                status.Body.GetProperty("ingestErrors").GetRawText());

            // The same counts in the operator's pipeline view (the dashboard and `status`).
            var view = await GetAsync(strict, "/api/console/pipeline", FunctionKey);
            Assert.Equal(status.Body.GetProperty("ingestErrors").GetRawText(), view.Body.GetProperty("ingestErrors").GetRawText());

            // Replay needs the admin key; replayed before the fix it is refused again, and that is recorded.
            Assert.Equal(401, (await PostAsync(strict, $"/api/ingest-errors/{errorId}/replay", "", FunctionKey)).Status);
            var again = await PostAsync(strict, $"/api/ingest-errors/{errorId}/replay", "", MasterKey);
            Assert.Equal((200, false), (again.Status, again.Body.GetProperty("accepted").GetBoolean()));
            Assert.StartsWith("refused (invalid)", again.Body.GetProperty("outcome").GetString(), StringComparison.Ordinal);
            Assert.Equal(409, (await PostAsync(strict, $"/api/ingest-errors/{errors[0].GetProperty("id").GetInt64()}/replay", "", MasterKey)).Status);
            Assert.Equal(404, (await PostAsync(strict, "/api/ingest-errors/999999/replay", "", MasterKey)).Status);
        }

        // The fix: a wider value range. The same payload replayed is accepted and stored.
        settings["IngestMaxValue"] = "1000";
        await using var fixedApp = await PipelineApp.StartAsync(settings);
        var replay = await PostAsync(fixedApp, $"/api/ingest-errors/{errorId}/replay", "", MasterKey);
        Assert.Equal((200, true, 1), (replay.Status, replay.Body.GetProperty("accepted").GetBoolean(), replay.Body.GetProperty("readings").GetInt32()));
        await Eventually.WaitForAsync(() => fixedApp.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'err-1'"), c => c == 1, TimeSpan.FromSeconds(60), "the replayed reading calibrated");
        Assert.Equal([["35", "replay", "True"]], await RowsAsync(fixedApp, "select r.raw_value, p.door, p.accepted from raw_data r join payload p on p.id = r.payload_id"));
        var outcome = await RowsAsync(fixedApp, $"select replay_outcome, replay_payload_id = (select payload_id from raw_data) from ingest_error where id = {errorId}");
        Assert.StartsWith("accepted: 1 reading(s), format native", outcome[0][0], StringComparison.Ordinal);
        Assert.Equal("True", outcome[0][1]);
        Assert.Equal(0, await OrphansAsync(fixedApp));
    }

    [Fact]
    public async Task Beyond_a_source_s_rate_refusals_are_counted_not_stored()
    {
        var settings = await SettingsAsync("flood");
        settings["IngestErrorRatePerMinute"] = "3";
        await using var app = await PipelineApp.StartAsync(settings);
        const int Sent = 20;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Sent; i++)
        {
            Assert.Equal(400, (await PostAsync(app, "/api/readings", "{\"garbage\":" + i.ToString(CultureInfo.InvariantCulture) + "}", FunctionKey)).Status);
        }

        var elapsed = clock.Elapsed;
        var counts = await Eventually.WaitForAsync(
            async () =>
            {
                var status = await GetAsync(app, "/api/status", FunctionKey);
                var ingestErrors = status.Body.GetProperty("ingestErrors");
                var stored = ingestErrors.GetProperty("byReason").EnumerateArray().Sum(r => r.GetProperty("count").GetInt64());
                return (Stored: stored, NotStored: ingestErrors.GetProperty("notStored").GetInt64());
            },
            c => c.Stored + c.NotStored == Sent, TimeSpan.FromSeconds(30), "every refusal stored or counted");

        // A bucket of 3, refilled at 3 a minute: what the sending took allows no more than that.
        var allowed = 3 + (int)Math.Ceiling(elapsed.TotalMinutes * 3);
        Assert.InRange(counts.Stored, 3, allowed);
        Assert.Equal(counts.Stored, await app.ScalarAsync("select count(*) from ingest_error"));
        Assert.Equal(counts.Stored, await app.ScalarAsync("select count(*) from payload where not accepted"));
        Assert.Equal(Sent - counts.Stored, await app.ScalarAsync("select sum(count) from ingest_error_suppressed where reason = 'invalid'"));
    }

    [Fact]
    public async Task A_persist_failing_before_its_commit_after_the_202_never_leaves_a_reading_without_its_payload_row()
    {
        var settings = await SettingsAsync("crash");
        await using var app = await PipelineApp.StartAsync(settings);
        // The persist statement fails after inserting its payload and reading rows, three times,
        // as a crash before the commit would: the retries then store both, once.
        await app.ExecuteAsync("""
            create sequence persist_attempts;
            create function fail_persist() returns trigger language plpgsql as $$
            begin
                if nextval('persist_attempts') <= 3 then
                    raise exception 'simulated crash before commit';
                end if;
                return null;
            end $$;
            create trigger fail_persist after insert on raw_data for each statement execute function fail_persist();
            """);

        var body = "[" + string.Join(",", Enumerable.Range(0, 5).Select(i => Native("crash-1", 20 + i, i))) + "]";
        var accepted = await PostAsync(app, "/api/readings", body, FunctionKey);
        Assert.Equal(202, accepted.Status);
        var payloadId = accepted.Body.GetProperty("payloadId").GetGuid();

        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from raw_data"), c => c == 5, TimeSpan.FromSeconds(60), "the 5 readings stored after the retries");
        Assert.True(await app.ScalarAsync("select last_value from persist_attempts") >= 4, "the persist failed before it succeeded");
        Assert.Equal(0, await OrphansAsync(app));
        Assert.Equal([["5", "True", body]], await RowsAsync(app, $"select reading_count, accepted, convert_from(content, 'UTF8') from payload where id = '{payloadId}'"));
        Assert.Equal(1, await app.ScalarAsync("select count(*) from payload"));
    }

    private static (string? Reason, int Status, string? Door, string? Source, string? Excerpt) Summary(JsonElement e) =>
        (e.GetProperty("reason").GetString(), e.GetProperty("status").GetInt32(), e.GetProperty("door").GetString(),
         e.GetProperty("source").GetString(), e.GetProperty("excerpt").GetString());
}
