using System.Net;
using System.Text;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// Issue 13, "a newcomer's first hour": README's own walkthrough data (readings of 2026-11-23,
/// days before "now") and the rough edges found by following it, through HTTP.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class NewcomerTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("newcomer"));
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<(HttpResponseMessage Response, JsonElement Body)> SendAsync(HttpRequestMessage request)
    {
        var response = await _app.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private Task<(HttpResponseMessage Response, JsonElement Body)> GetAsync(string url) => SendAsync(new HttpRequestMessage(HttpMethod.Get, url));

    private Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string url, string json) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    /// <summary>Every 4xx is problem details (application/problem+json) with its status, a detail, and per-field errors.</summary>
    private static JsonElement AssertProblem(HttpResponseMessage response, JsonElement body, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("detail").GetString()));
        return body;
    }

    private static (int? Index, string? Field)[] Fields(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("index").ValueKind == JsonValueKind.Number ? e.GetProperty("index").GetInt32() : (int?)null, e.GetProperty("field").GetString()))
            .ToArray();

    [Fact]
    public async Task Readme_readings_are_shown_without_a_range_and_an_unknown_sensor_is_404()
    {
        // Calibration of the README's PUT example: gain 0.98, offset 2.5 (0.98 * 21.37 + 2.5 = 23.442600000000002 in doubles).
        await _app.ExecuteAsync("""insert into calibration (sensor_id, version, valid_from, gain, "offset") values ('greenhouse-1', 1, '2026-01-01T00:00:00Z', 0.98, 2.5)""");
        var (posted, accepted) = await PostAsync("/api/readings", """
            [{"sensorId":"greenhouse-1","recordedAt":"2026-11-23T10:00:00Z","value":21.37},
             {"sensorId":"greenhouse-2","recordedAt":"2026-11-23T10:00:00Z","value":19.80}]
            """);
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        Assert.Equal(2, accepted.GetProperty("accepted").GetInt32());
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 2, TimeSpan.FromSeconds(60), "2 calibrated rows");

        // No from/to: the sensor's latest readings, however old (README's are days before now).
        var (response, readings) = await GetAsync("/api/sensors/greenhouse-1/readings");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = Assert.Single(readings.GetProperty("items").EnumerateArray());
        Assert.Equal(DateTimeOffset.Parse("2026-11-23T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), item.GetProperty("recordedAt").GetDateTimeOffset());
        // Rounded to 6 decimals at the API: no float noise.
        Assert.Equal("23.4426", item.GetProperty("calibratedValue").GetRawText());

        var (rollupResponse, rollups) = await GetAsync("/api/sensors/greenhouse-1/rollups");
        Assert.Equal(HttpStatusCode.OK, rollupResponse.StatusCode);
        var bucket = Assert.Single(rollups.GetProperty("items").EnumerateArray());
        Assert.Equal("23.4426", bucket.GetProperty("avg").GetRawText());
        Assert.Single((await GetAsync("/api/sensors/greenhouse-2/rollups?bucket=1d")).Body.GetProperty("items").EnumerateArray());

        var sensors = (await GetAsync("/api/sensors")).Body.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal("23.4426", sensors.Single(s => s.GetProperty("sensorId").GetString() == "greenhouse-1").GetProperty("latest").GetProperty("value").GetRawText());

        // A given range still means that range.
        Assert.Empty((await GetAsync("/api/sensors/greenhouse-1/readings?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z")).Body.GetProperty("items").EnumerateArray());

        foreach (var url in new[] { "/api/sensors/nobody/readings", "/api/sensors/nobody/rollups", "/api/sensors/nobody/readings?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z" })
        {
            var (missing, problem) = await GetAsync(url);
            AssertProblem(missing, problem, HttpStatusCode.NotFound);
            Assert.Contains("nobody", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Impossible_timestamps_and_repeated_properties_are_400_problems_naming_them()
    {
        var (old, oldProblem) = await PostAsync("/api/readings", """{"sensorId":"y0001","recordedAt":"0001-01-01T00:00:00Z","value":1}""");
        AssertProblem(old, oldProblem, HttpStatusCode.BadRequest);
        Assert.Equal([(null, "recordedAt")], Fields(oldProblem));
        Assert.Contains("IngestMaxAge", oldProblem.GetProperty("errors")[0].GetProperty("message").GetString()!, StringComparison.Ordinal);

        var (repeated, repeatedProblem) = await PostAsync("/api/readings", """{"sensorId":"a","value":1,"value":2,"recordedAt":"2026-11-23T10:00:00Z"}""");
        AssertProblem(repeated, repeatedProblem, HttpStatusCode.BadRequest);
        Assert.Equal([(null, "value")], Fields(repeatedProblem));

        await Task.Delay(500);
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from raw_data"));
    }

    [Fact]
    public async Task Every_4xx_is_problem_details_and_a_long_error_list_is_capped()
    {
        // 5,000 bad readings: the first 100 problems are listed, with the total.
        var bad = "[" + string.Join(',', Enumerable.Repeat("""{"sensorId":"température","recordedAt":"2026-11-23T10:00:00Z","value":1}""", 5000)) + "]";
        var (many, manyProblem) = await PostAsync("/api/readings", bad);
        AssertProblem(many, manyProblem, HttpStatusCode.BadRequest);
        Assert.Equal(100, manyProblem.GetProperty("errors").GetArrayLength());
        Assert.Equal(5000, manyProblem.GetProperty("errorCount").GetInt32());
        Assert.Equal(4900, manyProblem.GetProperty("errorsNotListed").GetInt32());
        Assert.Contains("ASCII", manyProblem.GetProperty("errors")[0].GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.True((await many.Content.ReadAsByteArrayAsync()).Length < 20_000, "a capped 400 is small");

        // Writes, reads, jobs and content types: the same shape.
        using var text = new HttpRequestMessage(HttpMethod.Post, "/api/readings") { Content = new StringContent("x", Encoding.UTF8, "text/plain") };
        var (unsupported, unsupportedProblem) = await SendAsync(text);
        AssertProblem(unsupported, unsupportedProblem, HttpStatusCode.UnsupportedMediaType);

        await _app.ExecuteAsync("""insert into calibration (sensor_id, version, valid_from, gain, "offset") values ('known', 1, '2026-01-01T00:00:00Z', 1, 0)""");
        var (query, queryProblem) = await GetAsync("/api/sensors/known/readings?limit=0");
        AssertProblem(query, queryProblem, HttpStatusCode.BadRequest);
        Assert.Equal([(null, "limit")], Fields(queryProblem));

        var (job, jobProblem) = await GetAsync("/api/recalibrations/999999");
        AssertProblem(job, jobProblem, HttpStatusCode.NotFound);

        var (calibration, calibrationProblem) = await SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/sensors/known/calibration")
        {
            Content = new StringContent("""{"gain":"x"}""", Encoding.UTF8, "application/json"),
        });
        AssertProblem(calibration, calibrationProblem, HttpStatusCode.BadRequest);
        Assert.NotEmpty(Fields(calibrationProblem));

        var settings = new Dictionary<string, string?>(_app.Settings) { ["Keys:Master"] = "newcomer-master-key" };
        await using var keyed = await PipelineApp.StartAsync(settings);
        var unauthorized = await keyed.Http.GetAsync("/api/sensors");
        var unauthorizedBody = JsonDocument.Parse(await unauthorized.Content.ReadAsStringAsync()).RootElement;
        AssertProblem(unauthorized, unauthorizedBody, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Metrics_name_the_service()
    {
        var metrics = await _app.Http.GetStringAsync("/metrics");
        Assert.Contains("service_name=\"sensorpipeline\"", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown_service", metrics, StringComparison.Ordinal);
    }
}
