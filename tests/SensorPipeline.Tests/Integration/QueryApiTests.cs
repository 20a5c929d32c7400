using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// The read API on a day of readings for ten sensors (one a minute: 14,400), posted over HTTP and
/// calibrated through the pipeline, checked against what was posted and against SQL of its own.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class QueryApiTests(TestServers servers) : IAsyncLifetime
{
    private const int Sensors = 10;
    private const int PerSensor = 24 * 60;
    private static readonly DateTimeOffset Day = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-3);
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("query"));
        settings["QueryMaxRange"] = "30.00:00:00";
        // Plain PostgreSQL, whatever extensions the machine has: the mode the tests run in.
        settings["DatabaseMode"] = "Plain";
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static string SensorId(int s) => $"q-sensor-{s:00}";

    private static double Raw(int s, int minute) => Math.Round(10 + s + 5 * Math.Sin(minute / 37.0) + minute % 7 * 0.013, 6);

    /// <summary>sensor-03 has two calibration versions (the second from noon); the idle sensor has parameters and no readings.</summary>
    private static double Calibrated(int s, int minute) =>
        s != 3 ? Raw(s, minute) : minute < 12 * 60 ? 2 * Raw(s, minute) + 1 : 3 * Raw(s, minute) - 0.5;

    private async Task SeedAsync()
    {
        await _app.ExecuteAsync($"""
            insert into calibration (sensor_id, version, valid_from, gain, "offset") values
                ('{SensorId(3)}', 1, '2000-01-01T00:00:00Z', 2, 1),
                ('{SensorId(3)}', 2, '{Day.AddHours(12):O}', 3, -0.5),
                ('q-sensor-idle', 1, '2000-01-01T00:00:00Z', 1.5, 0)
            """);
        var readings = Enumerable.Range(0, Sensors).SelectMany(s => Enumerable.Range(0, PerSensor).Select(m => (object)new
        {
            sensorId = SensorId(s),
            recordedAt = Day.AddMinutes(m).ToString("O", CultureInfo.InvariantCulture),
            value = Raw(s, m),
        })).ToArray();
        foreach (var chunk in readings.Chunk(5000))
        {
            var response = await _app.PostReadingsAsync(chunk);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"),
            n => n == Sensors * PerSensor, TimeSpan.FromMinutes(3), $"{Sensors * PerSensor} calibrated rows");
    }

    private async Task<JsonElement> GetJsonAsync(string url)
    {
        var response = await _app.Http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_day_of_readings_is_served_by_sensors_paged_readings_and_rollups_that_match_sql()
    {
        await SeedAsync();

        // GET /api/sensors: every sensor, newest calibrated reading, raw count, newest version.
        var sensors = (await GetJsonAsync("/api/sensors")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, Sensors).Select(SensorId).Append("q-sensor-idle").ToArray(),
            sensors.Select(s => s.GetProperty("sensorId").GetString()!).ToArray());
        for (var s = 0; s < Sensors; s++)
        {
            var sensor = sensors[s];
            Assert.Equal(PerSensor, sensor.GetProperty("readings").GetInt64());
            Assert.Equal(s == 3 ? 2 : 0, sensor.GetProperty("calibrationVersion").GetInt32());
            var latest = sensor.GetProperty("latest");
            Assert.Equal(Day.AddMinutes(PerSensor - 1), latest.GetProperty("recordedAt").GetDateTimeOffset());
            Assert.Equal(Calibrated(s, PerSensor - 1), latest.GetProperty("value").GetDouble(), 6);
            Assert.Equal(s == 3 ? 2 : 0, latest.GetProperty("calibrationVersion").GetInt32());
        }

        var idle = sensors[Sensors];
        Assert.Equal(0, idle.GetProperty("readings").GetInt64());
        Assert.Equal(1, idle.GetProperty("calibrationVersion").GetInt32());
        Assert.Equal(JsonValueKind.Null, idle.GetProperty("latest").ValueKind);

        // Readings, 100 a page: every reading exactly once, in order, across 15 pages.
        await AssertPagedAsync(5, 100, expectedPages: 15);
        // sensor-03 (two calibration versions): a page size that divides the day exactly ends with next = null.
        await AssertPagedAsync(3, 720, expectedPages: 2);
        await AssertPagedAsync(3, PerSensor, expectedPages: 1);

        // Without from/to: the day up to the sensor's newest reading (three days ago here), not the
        // last day up to now: the whole seeded day, 1000 (the default limit) a page.
        var recent = await GetJsonAsync($"/api/sensors/{SensorId(5)}/readings");
        var recentItems = recent.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(1000, recentItems.Count);
        Assert.Equal(Day, recentItems[0].GetProperty("recordedAt").GetDateTimeOffset());
        Assert.NotEqual(JsonValueKind.Null, recent.GetProperty("next").ValueKind);

        // Rollups equal an independent date_trunc over calibrated_temperature, for every hour of every sensor.
        var expected = new Dictionary<(string, DateTimeOffset), (long Count, double Min, double Max, double Avg)>();
        await using (var connection = new NpgsqlConnection(_app.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                select sensor_id, date_trunc('hour', recorded_at at time zone 'UTC'), count(*), min(value), max(value), avg(value)
                  from calibrated_temperature group by 1, 2
                """, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                expected[(reader.GetString(0), new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)))] =
                    (reader.GetInt64(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5));
            }
        }

        Assert.Equal(Sensors * 24, expected.Count);
        for (var s = 0; s < Sensors; s++)
        {
            var hourly = (await GetJsonAsync($"/api/sensors/{SensorId(s)}/rollups?bucket=1h&from={Iso(Day)}&to={Iso(Day.AddDays(1))}"))
                .GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(24, hourly.Count);
            for (var h = 0; h < 24; h++)
            {
                var bucket = hourly[h];
                var at = Day.AddHours(h);
                Assert.Equal(at, bucket.GetProperty("bucket").GetDateTimeOffset());
                var want = expected[(SensorId(s), at)];
                Assert.Equal(60, want.Count);
                Assert.Equal(want.Count, bucket.GetProperty("readings").GetInt64());
                // Values are rounded to 6 decimal places at the API.
                Assert.Equal(Math.Round(want.Min, 6), bucket.GetProperty("min").GetDouble());
                Assert.Equal(Math.Round(want.Max, 6), bucket.GetProperty("max").GetDouble());
                Assert.True(Math.Abs(want.Avg - bucket.GetProperty("avg").GetDouble()) <= 1e-6, $"avg of {SensorId(s)} at {at:O}");
                // And against the values that were posted, calibrated here.
                var posted = Enumerable.Range(h * 60, 60).Select(m => Calibrated(s, m)).ToList();
                Assert.True(Math.Abs(posted.Average() - bucket.GetProperty("avg").GetDouble()) <= 1e-6);
                Assert.Equal(posted.Min(), bucket.GetProperty("min").GetDouble(), 6);
            }

            var daily = (await GetJsonAsync($"/api/sensors/{SensorId(s)}/rollups?bucket=1d&from={Iso(Day.AddDays(-1))}&to={Iso(Day.AddDays(2))}"))
                .GetProperty("items").EnumerateArray().ToList();
            var day = Assert.Single(daily);
            Assert.Equal(Day, day.GetProperty("bucket").GetDateTimeOffset());
            Assert.Equal(PerSensor, day.GetProperty("readings").GetInt64());
            Assert.Equal(Enumerable.Range(0, PerSensor).Max(m => Calibrated(s, m)), day.GetProperty("max").GetDouble(), 6);
        }

        // A range within QueryMaxRange (30 days here) is fine; one beyond is a 400.
        await GetJsonAsync($"/api/sensors/{SensorId(0)}/rollups?bucket=1d&from={Iso(Day.AddDays(-29))}&to={Iso(Day.AddDays(1))}");
        await AssertBadRequestAsync($"/api/sensors/{SensorId(0)}/rollups?bucket=1d&from={Iso(Day.AddDays(-30))}&to={Iso(Day.AddDays(1))}", "QueryMaxRange");
    }

    private async Task AssertPagedAsync(int s, int limit, int expectedPages)
    {
        var url = $"/api/sensors/{SensorId(s)}/readings?from={Iso(Day)}&to={Iso(Day.AddDays(1))}&limit={limit}";
        var seen = new List<JsonElement>();
        var pages = 0;
        while (url is not null)
        {
            var page = await GetJsonAsync(url);
            pages++;
            var items = page.GetProperty("items").EnumerateArray().ToList();
            var next = page.GetProperty("next");
            if (next.ValueKind == JsonValueKind.Null)
            {
                url = null;
            }
            else
            {
                Assert.Equal(limit, items.Count);
                url = next.GetString()!;
                Assert.StartsWith($"/api/sensors/{SensorId(s)}/readings?from=", url, StringComparison.Ordinal);
                Assert.Contains($"&limit={limit}&after=", url, StringComparison.Ordinal);
            }

            seen.AddRange(items);
            Assert.True(pages <= expectedPages, $"more than {expectedPages} pages");
        }

        Assert.Equal(expectedPages, pages);
        Assert.Equal(Enumerable.Range(0, PerSensor).Select(m => Day.AddMinutes(m)).ToArray(),
            seen.Select(r => r.GetProperty("recordedAt").GetDateTimeOffset()).ToArray());
        for (var m = 0; m < PerSensor; m++)
        {
            var r = seen[m];
            Assert.Equal(Raw(s, m), r.GetProperty("rawValue").GetDouble());
            Assert.Equal(Calibrated(s, m), r.GetProperty("calibratedValue").GetDouble(), 6);
            Assert.Equal(s != 3 ? 0 : m < 12 * 60 ? 1 : 2, r.GetProperty("calibrationVersion").GetInt32());
            Assert.True(r.GetProperty("receivedAt").GetDateTimeOffset() <= r.GetProperty("calibratedAt").GetDateTimeOffset());
        }
    }

    private async Task AssertBadRequestAsync(string url, string mentions)
    {
        var response = await _app.Http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"GET {url}: expected 400, got {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
        Assert.Contains(mentions, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_query_parameters_are_rejected_with_400_naming_the_parameter()
    {
        // A known sensor (an unknown one is a 404 whatever the parameters).
        await _app.ExecuteAsync($"""insert into calibration (sensor_id, version, valid_from, gain, "offset") values ('{SensorId(1)}', 1, '2000-01-01T00:00:00Z', 1, 0)""");
        var readings = $"/api/sensors/{SensorId(1)}/readings";
        var rollups = $"/api/sensors/{SensorId(1)}/rollups";
        await AssertBadRequestAsync($"{rollups}?bucket=5m", "'bucket'");
        await AssertBadRequestAsync($"{rollups}?bucket=1h&from=yesterday", "'from'");
        await AssertBadRequestAsync($"{readings}?to=2026-13-01T00:00:00Z", "'to'");
        await AssertBadRequestAsync($"{readings}?from={Iso(Day.AddDays(1))}&to={Iso(Day)}", "'from'");
        await AssertBadRequestAsync($"{readings}?from={Iso(Day.AddDays(-40))}&to={Iso(Day)}", "QueryMaxRange");
        await AssertBadRequestAsync($"{readings}?limit=0", "'limit'");
        await AssertBadRequestAsync($"{readings}?limit=10001", "'limit'");
        await AssertBadRequestAsync($"{readings}?limit=ten", "'limit'");
        await AssertBadRequestAsync($"{readings}?after=not-a-cursor", "'after'");

        // The edges of what is allowed.
        Assert.Equal(HttpStatusCode.OK, (await _app.Http.GetAsync($"{readings}?limit=10000")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.Http.GetAsync($"{readings}?limit=1&from={Iso(Day)}&to={Iso(Day)}")).StatusCode);
        // An unencoded '+' offset (it arrives as a space) is still understood.
        Assert.Equal(HttpStatusCode.OK, (await _app.Http.GetAsync($"{rollups}?bucket=1d&from=2026-11-01T00:00:00+01:00&to=2026-11-02T00:00:00+01:00")).StatusCode);
    }

    [Fact]
    public async Task Read_api_needs_a_key_when_one_is_configured_while_health_and_metrics_do_not()
    {
        await _app.ExecuteAsync($"""insert into calibration (sensor_id, version, valid_from, gain, "offset") values ('{SensorId(1)}', 1, '2000-01-01T00:00:00Z', 1, 0)""");
        var settings = new Dictionary<string, string?>(_app.Settings) { ["Keys:Master"] = "query-test-master-key" };
        await using var keyed = await PipelineApp.StartAsync(settings);
        foreach (var url in new[] { "/api/sensors", $"/api/sensors/{SensorId(1)}/readings", $"/api/sensors/{SensorId(1)}/rollups?bucket=1h", "/api/status" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await keyed.Http.GetAsync(url)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await keyed.Http.GetAsync(url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "code=wrong")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await keyed.Http.GetAsync(url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "code=query-test-master-key")).StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Add("x-functions-key", "query-test-master-key");
            Assert.Equal(HttpStatusCode.OK, (await keyed.Http.SendAsync(request)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await keyed.Http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await keyed.Http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await keyed.Http.GetAsync("/metrics")).StatusCode);
    }
}
