using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>A reading the database refuses is dead-lettered with its reason, its neighbours flow on, and a replay after the fix stores it.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DeadLetterTests(TestServers servers)
{
    [Fact]
    public async Task Poison_reading_is_dead_lettered_visible_and_replayed_after_the_fix()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("dlq"));
        settings["AzureFunctionsJobHost:extensions:kafka:maxRetries"] = "1";
        await using var app = await PipelineApp.StartAsync(settings);
        await app.ExecuteAsync("""
            create function refuse_poison() returns trigger language plpgsql as $$
            begin
              if new.sensor_id = 'poison-1' then raise exception 'sensor poison-1 is refused by a rule'; end if;
              return new;
            end $$;
            create trigger refuse_poison before insert on calibrated_temperature for each row execute function refuse_poison();
            """);

        var readings = Enumerable.Range(0, 50)
            .Select(i => new { sensorId = "fine-" + (i % 5), recordedAt = new DateTimeOffset(2026, 5, 1, 0, i, 0, TimeSpan.Zero).ToString("O"), value = 20.0 + i })
            .Append(new { sensorId = "poison-1", recordedAt = "2026-05-01T00:30:00Z", value = 1.0 })
            .ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(readings)).StatusCode);

        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 50, TimeSpan.FromSeconds(60), "the 50 good readings");
        Assert.Equal(51, await app.ScalarAsync("select count(*) from raw_data"));
        var listed = await Eventually.WaitForAsync(
            () => app.Http.GetFromJsonAsync<JsonElement>("/api/deadletters"),
            l => l.GetProperty("count").GetInt32() == 1, TimeSpan.FromSeconds(30), "one dead letter");
        var reason = Assert.Single(listed.GetProperty("byReason").EnumerateArray());
        Assert.Equal("CalibrateRealtime", reason.GetProperty("function").GetString());
        Assert.Contains("sensor poison-1 is refused by a rule", reason.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, reason.GetProperty("count").GetInt32());

        await app.ExecuteAsync("drop trigger refuse_poison on calibrated_temperature");
        var replay = await app.Http.PostAsync("/api/deadletters/replay", null);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal(1, (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());

        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'poison-1'"), n => n == 1, TimeSpan.FromSeconds(30), "the replayed reading");
        Assert.Equal(0, (await app.Http.GetFromJsonAsync<JsonElement>("/api/deadletters")).GetProperty("count").GetInt32());
        Assert.Equal(0, (await (await app.Http.PostAsync("/api/deadletters/replay", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());
    }
}
