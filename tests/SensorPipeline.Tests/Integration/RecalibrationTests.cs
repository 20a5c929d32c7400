using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>Versioned calibration and resumable recalibration jobs, HTTP in, rows out.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class RecalibrationTests(TestServers servers)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task<Dictionary<string, string?>> SettingsAsync(string prefix)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(prefix));
        settings["RecalibrationSchedule"] = "*/1 * * * * *";
        return settings;
    }

    private static async Task PostReadingsAsync(PipelineApp app, string sensor, int count)
    {
        foreach (var chunk in Enumerable.Range(0, count).Chunk(5000))
        {
            var response = await app.PostReadingsAsync(chunk.Select(i => new { sensorId = sensor, recordedAt = T0.AddMinutes(i).ToString("O"), value = i % 100 }).ToArray());
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == count, TimeSpan.FromSeconds(90), $"{count} calibrated rows");
    }

    private static async Task<JsonElement> GetJobAsync(PipelineApp app, long id) =>
        await app.Http.GetFromJsonAsync<JsonElement>($"/api/recalibrations/{id}");

    private static Task<JsonElement> WaitForStateAsync(PipelineApp app, long id, string state, int seconds = 90) =>
        Eventually.WaitForAsync(() => GetJobAsync(app, id), j => j.GetProperty("state").GetString() == state, TimeSpan.FromSeconds(seconds), $"job {id} to be {state}");

    [Fact]
    public async Task New_calibration_from_the_middle_recalculates_exactly_the_later_readings()
    {
        await using var app = await PipelineApp.StartAsync(await SettingsAsync("recal"));
        await PostReadingsAsync(app, "probe-1", 6000);
        var middle = T0.AddMinutes(2500);

        var put = await app.Http.PutAsJsonAsync("/api/sensors/probe-1/calibration", new { gain = 2.0, offset = 1.5, validFrom = middle.ToString("O") });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var created = await put.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, created.GetProperty("version").GetProperty("version").GetInt32());
        var jobId = created.GetProperty("recalibration").GetProperty("id").GetInt64();
        Assert.Equal(3500, created.GetProperty("recalibration").GetProperty("total").GetInt64());

        var job = await WaitForStateAsync(app, jobId, "completed");
        Assert.Equal(3500, job.GetProperty("published").GetInt64());
        Assert.Equal(3500, job.GetProperty("calibrated").GetInt64());
        Assert.Equal(0, job.GetProperty("remaining").GetInt64());
        Assert.Equal(100.0, job.GetProperty("percent").GetDouble());

        Assert.Equal(2500, await app.ScalarAsync($"""
            select count(*) from calibrated_temperature c join raw_data r on r.id = c.raw_data_id and r.recorded_at = c.recorded_at
             where r.recorded_at < '{middle:O}' and c.calibration_version = 0 and c.value = r.raw_value
            """));
        Assert.Equal(3500, await app.ScalarAsync($"""
            select count(*) from calibrated_temperature c join raw_data r on r.id = c.raw_data_id and r.recorded_at = c.recorded_at
             where r.recorded_at >= '{middle:O}' and c.calibration_version = 1 and c.value = 2.0 * r.raw_value + 1.5
            """));

        var history = await app.Http.GetFromJsonAsync<JsonElement>("/api/sensors/probe-1/calibration");
        var version = Assert.Single(history.GetProperty("versions").EnumerateArray());
        Assert.Equal(2.0, version.GetProperty("gain").GetDouble());

        // A reading arriving now, recorded after validFrom, is calibrated with the new version by the realtime path.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(new { sensorId = "probe-1", recordedAt = T0.AddMinutes(7000).ToString("O"), value = 10 })).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature where value = 21.5 and calibration_version = 1"), n => n >= 1, TimeSpan.FromSeconds(30), "the new reading calibrated with version 1");
    }

    [Fact]
    public async Task Job_interrupted_by_a_restart_resumes_and_skips_no_reading()
    {
        var settings = await SettingsAsync("resume");
        settings["RecalibrationPageSize"] = "500";
        settings["RecalibrationMaxInFlight"] = "1000";
        settings["RecalibrationLeaseTimeout"] = "00:00:02";
        long jobId;
        await using (var first = await PipelineApp.StartAsync(settings))
        {
            await PostReadingsAsync(first, "resume-1", 8000);
            var response = await first.Http.PostAsJsonAsync("/api/recalibrations", new { sensorId = "resume-1", from = T0.ToString("O"), to = T0.AddDays(30).ToString("O") });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            await Eventually.WaitForAsync(() => GetJobAsync(first, jobId), j => j.GetProperty("published").GetInt64() >= 1000, TimeSpan.FromSeconds(60), "the job to be under way");
        }

        var stoppedAt = await ScalarAsync(settings, $"select published from recalibration_job where id = {jobId}");
        Assert.InRange(stoppedAt, 1000, 7999);

        await using var second = await PipelineApp.StartAsync(settings);
        var job = await WaitForStateAsync(second, jobId, "completed");
        Assert.Equal(8000, job.GetProperty("total").GetInt64());
        Assert.Equal(8000, job.GetProperty("calibrated").GetInt64());
        Assert.InRange(job.GetProperty("published").GetInt64(), 8000, 8000 + 500);
        Assert.Equal(0, await second.ScalarAsync($"""
            select count(*) from calibrated_temperature c, recalibration_job j
             where j.id = {jobId} and c.sensor_id = 'resume-1' and c.calibrated_at < j.created_at
            """));
    }

    [Fact]
    public async Task Published_readings_lost_before_consumption_are_sent_again_by_a_repair_pass()
    {
        var settings = await SettingsAsync("repair");
        settings["RecalibrationDrainTimeout"] = "00:00:02";
        var functions = new[] { "IngestReadings", "PersistRawReadings", "CalibrateRealtime", "StartRecalibration", "GetRecalibration", "RecalibrationProducer" };
        var withoutHistorical = new Dictionary<string, string?>(settings);
        for (var i = 0; i < functions.Length; i++)
        {
            withoutHistorical[$"AzureFunctionsJobHost:functions:{i}"] = functions[i];
        }

        long jobId;
        await using (var first = await PipelineApp.StartAsync(withoutHistorical))
        {
            await PostReadingsAsync(first, "lost-1", 3000);
            var response = await first.Http.PostAsJsonAsync("/api/recalibrations", new { sensorId = "lost-1", from = T0.ToString("O"), to = T0.AddDays(30).ToString("O") });
            jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            await WaitForStateAsync(first, jobId, "draining");
        }

        // As if the broker lost the published messages: the next app reads another historical topic.
        var lostTopic = settings["HistoricalTopic"]!;
        settings["HistoricalTopic"] = await servers.CreateTopicAsync("historical");
        await servers.CreateExactTopicAsync(settings["HistoricalTopic"] + ".deadletter", 1);
        Assert.NotEqual(lostTopic, settings["HistoricalTopic"]);
        await using var second = await PipelineApp.StartAsync(settings);
        var job = await WaitForStateAsync(second, jobId, "completed");
        Assert.Equal(3000, job.GetProperty("calibrated").GetInt64());
        Assert.Equal(0, job.GetProperty("remaining").GetInt64());
        Assert.InRange(job.GetProperty("published").GetInt64(), 6000, 6000);
    }

    [Fact]
    public async Task Cancelled_job_stops_and_cannot_be_cancelled_twice()
    {
        var settings = await SettingsAsync("cancel");
        settings["RecalibrationPageSize"] = "200";
        settings["RecalibrationMaxInFlight"] = "1000";
        await using var app = await PipelineApp.StartAsync(settings);
        await PostReadingsAsync(app, "cancel-1", 5000);
        var response = await app.Http.PostAsJsonAsync("/api/recalibrations", new { from = T0.ToString("O"), to = T0.AddDays(30).ToString("O") });
        var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var cancel = await app.Http.DeleteAsync($"/api/recalibrations/{jobId}");
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        var published = (await GetJobAsync(app, jobId)).GetProperty("published").GetInt64();
        await Task.Delay(2500);
        var later = await GetJobAsync(app, jobId);
        Assert.Equal("cancelled", later.GetProperty("state").GetString());
        Assert.Equal(published, later.GetProperty("published").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, (await app.Http.DeleteAsync($"/api/recalibrations/{jobId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Http.DeleteAsync("/api/recalibrations/999999")).StatusCode);
    }

    [Fact]
    public async Task Invalid_parameters_are_rejected_with_the_reason_and_nothing_is_stored()
    {
        var settings = await SettingsAsync("badcal");
        await using var app = await PipelineApp.StartAsync(settings);
        var bad = new object[]
        {
            new { gain = 0.0, offset = 1.0, validFrom = "2026-01-01T00:00:00Z" },
            new { gain = "NaN", offset = 1.0, validFrom = "2026-01-01T00:00:00Z" },
            new { gain = 1.0, offset = 1.0, validFrom = "2026-01-01T00:00:00" },
            new { gain = 1.0, offset = 1.0, validFrom = "2026-01-01T00:00:00Z", scale = 3 },
            new { gain = 1.0, validFrom = "2026-01-01T00:00:00Z" },
        };
        foreach (var body in bad)
        {
            var response = await app.Http.PutAsJsonAsync("/api/sensors/s-1/calibration", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotEmpty((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray());
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await app.Http.PutAsJsonAsync("/api/sensors/bad%20id/calibration", new { gain = 1.0, offset = 0.0, validFrom = "2026-01-01T00:00:00Z" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await app.Http.PostAsJsonAsync("/api/recalibrations", new { from = "2026-02-01T00:00:00Z", to = "2026-01-01T00:00:00Z" })).StatusCode);
        Assert.Equal(0, await app.ScalarAsync("select count(*) from calibration"));
        Assert.Equal(0, await app.ScalarAsync("select count(*) from recalibration_job"));
    }

    [Fact]
    public async Task Admin_endpoints_need_the_master_key_and_reading_endpoints_a_function_key()
    {
        var settings = await SettingsAsync("keys");
        settings["Keys:Master"] = "master-secret";
        settings["Keys:Function:ingest"] = "function-secret";
        await using var app = await PipelineApp.StartAsync(settings);
        var body = new { gain = 1.1, offset = 0.0, validFrom = "2026-01-01T00:00:00Z" };

        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Http.PutAsJsonAsync("/api/sensors/k-1/calibration", body)).StatusCode);
        using (var withFunctionKey = new HttpRequestMessage(HttpMethod.Put, "/api/sensors/k-1/calibration") { Content = JsonContent.Create(body) })
        {
            withFunctionKey.Headers.Add("x-functions-key", "function-secret");
            Assert.Equal(HttpStatusCode.Unauthorized, (await app.Http.SendAsync(withFunctionKey)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await app.Http.PutAsJsonAsync("/api/sensors/k-1/calibration?code=master-secret", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.PostReadingsAsync(new { sensorId = "k-1", recordedAt = "2026-01-02T00:00:00Z", value = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Http.PostAsJsonAsync("/api/readings?code=wrong", new { sensorId = "k-1", recordedAt = "2026-01-02T00:00:00Z", value = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsJsonAsync("/api/readings?code=function-secret", new { sensorId = "k-1", recordedAt = "2026-01-02T00:00:00Z", value = 1 })).StatusCode);
    }

    private static async Task<long> ScalarAsync(Dictionary<string, string?> settings, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(settings["TimescaleConnection"]);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
