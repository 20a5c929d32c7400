using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Console;

/// <summary>The dashboard's own reads over HTTP: sensors searched and paged on the server, devices, and the downsampled series.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ConsoleApiTests(TestServers servers)
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Sensors_are_searched_and_paged_on_the_server_with_latest_values_versions_and_silence()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_list");
        var readings = Enumerable.Range(0, 120)
            .Select(i => new { sensorId = $"list-{i:000}", recordedAt = Start.AddMinutes(i).ToString("O"), value = 10.0 + i })
            .ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(readings)).StatusCode);
        // A sensor with parameters and no readings is listed too.
        var put = await app.Http.PutAsJsonAsync("/api/sensors/params-only/calibration", new { gain = 2.0, offset = 0.5, validFrom = "2026-01-01T00:00:00Z" });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 120, TimeSpan.FromSeconds(60), "120 readings calibrated");

        var all = await GetAsync(app, "/api/console/sensors?limit=500");
        Assert.Equal(121, all.GetProperty("total").GetInt64());
        Assert.Equal("list-000", all.GetProperty("items")[0].GetProperty("sensorId").GetString());
        Assert.Equal("params-only", all.GetProperty("items")[120].GetProperty("sensorId").GetString());

        // "LIST-1" matches list-100 … list-119 (case-insensitive); the second page of 8 has 8 more, in order.
        var page = await GetAsync(app, "/api/console/sensors?search=LIST-1&offset=8&limit=8");
        Assert.Equal(20, page.GetProperty("total").GetInt64());
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(108, 8).Select(i => $"list-{i}"), items.Select(i => i.GetProperty("sensorId").GetString()));
        var first = items[0];
        Assert.Equal(118.0, first.GetProperty("latestRaw").GetDouble());
        Assert.Equal(118.0, first.GetProperty("latestCalibrated").GetDouble());
        Assert.Equal(0, first.GetProperty("calibrationVersion").GetInt32());
        Assert.False(first.GetProperty("silent").GetBoolean());
        Assert.Equal(Start.AddMinutes(108), first.GetProperty("lastRecordedAt").GetDateTimeOffset());

        var parameters = (await GetAsync(app, "/api/console/sensors?search=params")).GetProperty("items")[0];
        Assert.Equal(1, parameters.GetProperty("calibrationVersion").GetInt32());
        Assert.Equal(JsonValueKind.Null, parameters.GetProperty("latestRaw").ValueKind);
        Assert.True(parameters.GetProperty("silent").GetBoolean());

        // Silent: nothing received for longer than silentAfter (seconds).
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.True((await GetAsync(app, "/api/console/sensors?search=list-000&silentAfter=2")).GetProperty("items")[0].GetProperty("silent").GetBoolean());

        Assert.Equal(0, (await GetAsync(app, "/api/console/sensors?search=nothing-like-it")).GetProperty("total").GetInt64());
        Assert.Equal(0, (await GetAsync(app, "/api/console/devices")).GetProperty("total").GetInt64());
        await AssertBadRequestAsync(app, "/api/console/sensors?limit=0", "limit");
        await AssertBadRequestAsync(app, "/api/console/sensors?offset=-1", "offset");
        await AssertBadRequestAsync(app, "/api/console/sensors?search=" + new string('x', 201), "search");
    }

    [Fact]
    public async Task Series_is_every_reading_when_it_fits_else_buckets_with_min_and_max()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_series");
        // 2,000 one-minute readings: a saw from 0 to 99.
        var values = Enumerable.Range(0, 2000).Select(i => (double)(i % 100)).ToArray();
        await DashboardApp.PostSeriesAsync(app, "saw-1", Start, values);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 2000, TimeSpan.FromSeconds(60), "2,000 readings calibrated");
        var url = $"/api/console/sensors/saw-1/series?from={Iso(Start)}&to={Iso(Start.AddMinutes(2000))}";

        var points = await GetAsync(app, url + "&points=5000");
        Assert.Equal("points", points.GetProperty("source").GetString());
        Assert.Equal(2000, points.GetProperty("times").GetArrayLength());
        Assert.Equal(values, points.GetProperty("raw").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(JsonValueKind.Null, points.GetProperty("rawMin").ValueKind);

        // 100 buckets of 20 minutes: each holds 20 readings of one saw tooth's fifth; min and max are exact.
        var buckets = await GetAsync(app, url + "&points=100");
        Assert.Equal("readings", buckets.GetProperty("source").GetString());
        Assert.Equal(1200, buckets.GetProperty("bucketSeconds").GetDouble());
        Assert.Equal(2000, buckets.GetProperty("readings").GetInt64());
        Assert.Equal(100, buckets.GetProperty("times").GetArrayLength());
        var rawMin = buckets.GetProperty("rawMin").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var rawMax = buckets.GetProperty("rawMax").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(Enumerable.Range(0, 100).Select(b => (double)(b * 20 % 100)), rawMin);
        Assert.Equal(Enumerable.Range(0, 100).Select(b => (double)(b * 20 % 100 + 19)), rawMax);
        Assert.Equal(rawMin, buckets.GetProperty("calibratedMin").EnumerateArray().Select(v => v.GetDouble()));

        // Buckets of 4 hours: the calibrated values come from the hourly rollups where they are
        // continuous aggregates (TimescaleDB), else from the readings; the extremes stay exact.
        var timescale = await app.ScalarAsync("select count(*) from pg_extension where extname = 'timescaledb'") == 1;
        var hourly = await GetAsync(app, url + "&points=10");
        Assert.Equal(timescale ? "hourly" : "readings", hourly.GetProperty("source").GetString());
        Assert.True(hourly.GetProperty("times").GetArrayLength() <= 11);
        Assert.Equal(0, hourly.GetProperty("calibratedMin").EnumerateArray().Min(v => v.GetDouble()));
        Assert.Equal(99, hourly.GetProperty("calibratedMax").EnumerateArray().Max(v => v.GetDouble()));
        Assert.Equal(2000, hourly.GetProperty("readings").GetInt64());

        Assert.Equal(HttpStatusCode.NotFound, (await app.Http.GetAsync("/api/console/sensors/nobody/series")).StatusCode);
        await AssertBadRequestAsync(app, url + "&points=1", "points");
        await AssertBadRequestAsync(app, $"/api/console/sensors/saw-1/series?from={Iso(Start)}&to={Iso(Start.AddDays(-1))}", "from");
    }

    [Fact]
    public async Task A_legacy_sensor_is_listed_with_its_raw_unit_and_charted_in_Celsius_beside_its_calibrated_values()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_units");
        // Hundredths of a degree Fahrenheit, as older firmware sends them: 7135 = 21.861 °C, 3200 = 0 °C,
        // twenty readings a minute apart, alternating.
        var ts = Start.ToUnixTimeSeconds();
        var legacy = Enumerable.Range(0, 20).Select(i => new { id = 4711, t = i % 2 == 0 ? 7135 : 3200, ts = ts + (60 * i) }).ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(legacy)).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 20, TimeSpan.FromSeconds(60), "20 readings calibrated");

        var row = (await GetAsync(app, "/api/console/sensors?search=legacy-4711")).GetProperty("items")[0];
        Assert.Equal((3200.0, "cdegF", 0.0), (row.GetProperty("latestRaw").GetDouble(), row.GetProperty("latestRawUnit").GetString(), row.GetProperty("latestCalibrated").GetDouble()));

        // One chart, one axis: the raw series is the raw value converted to Celsius (not 7135 beside 21.861).
        var expected = legacy.Select(r => r.t == 7135 ? 21.861 : 0.0).ToArray();
        var series = await GetAsync(app, $"/api/console/sensors/legacy-4711/series?from={Iso(Start)}&to={Iso(Start.AddHours(1))}");
        Assert.Equal("points", series.GetProperty("source").GetString());
        Assert.Equal(expected, series.GetProperty("raw").EnumerateArray().Select(v => Math.Round(v.GetDouble(), 3)));
        Assert.Equal(expected, series.GetProperty("calibrated").EnumerateArray().Select(v => Math.Round(v.GetDouble(), 3)));
        // Buckets of 6 minutes: the extremes in Celsius too.
        var buckets = await GetAsync(app, $"/api/console/sensors/legacy-4711/series?from={Iso(Start)}&to={Iso(Start.AddHours(1))}&points=10");
        Assert.Equal("readings", buckets.GetProperty("source").GetString());
        var rawMax = buckets.GetProperty("rawMax").EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Number).Select(v => Math.Round(v.GetDouble(), 3)).ToList();
        var rawMin = buckets.GetProperty("rawMin").EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Number).Select(v => Math.Round(v.GetDouble(), 3)).ToList();
        Assert.All(rawMax, v => Assert.Equal(21.861, v));
        Assert.All(rawMin, v => Assert.Equal(0.0, v));
        Assert.Equal(4, rawMax.Count);
    }

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<JsonElement> GetAsync(PipelineApp app, string url)
    {
        var response = await app.Http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task AssertBadRequestAsync(PipelineApp app, string url, string field)
    {
        var response = await app.Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(field, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
