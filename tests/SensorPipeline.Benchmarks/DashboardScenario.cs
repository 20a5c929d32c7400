using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// <c>--scenario dashboard</c>: what the dashboard's reads cost on a big database. Seeds (in SQL,
/// not through the pipeline, not measured) a year of one-minute readings for one sensor, raw and
/// calibrated, and 10,000 other sensors with 10 readings each; then times, over HTTP against the
/// app, <c>GET /api/console/sensors/{id}/series</c> for ranges from an hour to a year (server time
/// and payload size) and <c>GET /api/console/sensors</c> (first page, a search, the last page).
/// </summary>
internal static class DashboardScenario
{
    private const int Repeats = 7;

    public static async Task<int> RunAsync(AppProcess app, NpgsqlDataSource db, string runId, CancellationToken token)
    {
        var sensor = $"year-{runId}";
        var prefix = $"fleet-{runId}-";
        var end = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
        var start = end.AddDays(-365);
        Console.WriteLine("  seeding: a year of one-minute readings for one sensor, 10,000 sensors × 10 readings...");
        var seed = Stopwatch.StartNew();
        await ExecuteAsync(db, $"""
            insert into raw_data (sensor_id, recorded_at, raw_value)
            select '{sensor}', t, 20 + 5 * sin(extract(epoch from t) / 86400 * 2 * pi()) + random()
              from generate_series('{start:O}'::timestamptz, '{end:O}'::timestamptz - interval '1 minute', interval '1 minute') t;
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version)
            select id, recorded_at, sensor_id, raw_value * 1.01 + 0.5, 0 from raw_data where sensor_id = '{sensor}';
            insert into raw_data (sensor_id, recorded_at, raw_value)
            select '{prefix}' || lpad(s::text, 5, '0'), '{end:O}'::timestamptz - m * interval '1 minute', 20 + random()
              from generate_series(1, 10000) s, generate_series(1, 10) m;
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version)
            select id, recorded_at, sensor_id, raw_value, 0 from raw_data where sensor_id like '{prefix}%';
            analyze raw_data; analyze calibrated_temperature;
            """, token);
        Console.WriteLine($"  seeded in {seed.Elapsed.TotalSeconds:0.0} s");

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{app.Port}"), Timeout = TimeSpan.FromMinutes(2) };
        Console.WriteLine();
        Console.WriteLine($"series of one sensor (525,600 one-minute readings in a year), points=1000, median of {Repeats} (first call apart):");
        Console.WriteLine($"  {"range",-8} {"source",-9} {"entries",8} {"readings",9} {"first ms",9} {"median ms",10} {"max ms",8} {"bytes",9}");
        foreach (var (name, span) in new[] { ("1 hour", TimeSpan.FromHours(1)), ("1 day", TimeSpan.FromDays(1)), ("7 days", TimeSpan.FromDays(7)), ("30 days", TimeSpan.FromDays(30)), ("1 year", TimeSpan.FromDays(365)) })
        {
            var url = $"/api/console/sensors/{sensor}/series?from={Iso(end - span)}&to={Iso(end)}&points=1000";
            var (first, median, max, body) = await TimeAsync(http, url, token);
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            Console.WriteLine($"  {name,-8} {root.GetProperty("source").GetString(),-9} {root.GetProperty("times").GetArrayLength(),8} {root.GetProperty("readings").GetInt64(),9} {first,9:0.0} {median,10:0.0} {max,8:0.0} {body.Length,9}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT_DASHBOARD_SERIES range={name.Replace(' ', '_')} median_ms={median:0.0} bytes={body.Length}"));
        }

        Console.WriteLine();
        Console.WriteLine($"sensor list (10,001 sensors), limit=50, median of {Repeats}:");
        foreach (var (name, url) in new[]
        {
            ("first page", "/api/console/sensors?limit=50"),
            ("search '0042'", "/api/console/sensors?search=0042&limit=50"),
            ("last page", "/api/console/sensors?offset=9990&limit=50"),
        })
        {
            var (first, median, max, body) = await TimeAsync(http, url, token);
            using var json = JsonDocument.Parse(body);
            Console.WriteLine($"  {name,-14} total {json.RootElement.GetProperty("total").GetInt64(),6}, {json.RootElement.GetProperty("items").GetArrayLength(),3} items: first {first,7:0.0} ms, median {median,7:0.0} ms, max {max,7:0.0} ms, {body.Length,7} bytes");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT_DASHBOARD_SENSORS page={name.Replace(' ', '_').Replace("'", "")} median_ms={median:0.0} bytes={body.Length}"));
        }

        return 0;
    }

    private static async Task<(double First, double Median, double Max, string Body)> TimeAsync(HttpClient http, string url, CancellationToken token)
    {
        var times = new List<double>();
        string body = "";
        double first = 0;
        for (var i = 0; i <= Repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync(url, token);
            body = await response.Content.ReadAsStringAsync(token);
            var ms = watch.Elapsed.TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {body}");
            }

            if (i == 0)
            {
                first = ms;
            }
            else
            {
                times.Add(ms);
            }
        }

        times.Sort();
        return (first, times[times.Count / 2], times[^1], body);
    }

    private static string Iso(DateTime t) => Uri.EscapeDataString(t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql, CancellationToken token)
    {
        await using var command = db.CreateCommand(sql);
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync(token);
    }
}
