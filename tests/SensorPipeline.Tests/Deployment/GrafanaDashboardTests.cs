using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Deployment;

/// <summary>
/// The provisioned Grafana dashboard (keda/monitoring/grafana): Grafana cannot run here, so every
/// SQL panel and the <c>$sensor</c> variable query run against a migrated database with Grafana's
/// macros expanded as its PostgreSQL datasource expands them — on the plain schema (views, no
/// TimescaleDB: <c>$__timeGroup</c> is <c>floor(extract(epoch …))</c>) and on a TimescaleDB-shaped one
/// as far as plain PostgreSQL can have it (the rollups as materialized views built from
/// 003_rollups.timescale.sql's statements, a <c>time_bucket</c> of the same buckets, <c>$__timeGroup</c>
/// as <c>time_bucket</c>) — and return rows from seeded readings; every PromQL expression names only
/// metrics (and labels) a running app exports.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class GrafanaDashboardTests(TestServers servers)
{
    private const string DatabaseUid = "sensorpipeline-db", PrometheusUid = "sensorpipeline-prometheus";

    private static readonly string GrafanaDir = Path.Combine(SensorPipeline.Tests.Unit.StartupChecksTests.FindRepositoryRoot(), "keda", "monitoring", "grafana");

    private static JsonElement Dashboard() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(GrafanaDir, "dashboards", "sensorpipeline.json"))).RootElement.Clone();

    private static List<(string Panel, string Uid, JsonElement Target)> Targets(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() != "row")
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (
                p.GetProperty("title").GetString()!,
                (t.TryGetProperty("datasource", out var d) ? d : p.GetProperty("datasource")).GetProperty("uid").GetString()!,
                t)))
            .ToList();

    [Fact]
    public void Dashboard_has_the_panels_of_a_fleet_and_uses_only_the_provisioned_datasources()
    {
        var dashboard = Dashboard();
        var provisioned = File.ReadAllText(Path.Combine(GrafanaDir, "provisioning", "datasources", "sensorpipeline.yaml"));
        Assert.Contains($"uid: {DatabaseUid}", provisioned, StringComparison.Ordinal);
        Assert.Contains($"uid: {PrometheusUid}", provisioned, StringComparison.Ordinal);
        Assert.Contains("path: /var/lib/grafana/dashboards/sensorpipeline", File.ReadAllText(Path.Combine(GrafanaDir, "provisioning", "dashboards", "sensorpipeline.yaml")), StringComparison.Ordinal);

        var targets = Targets(dashboard);
        Assert.All(targets, t => Assert.Contains(t.Uid, new[] { DatabaseUid, PrometheusUid }));
        var titles = dashboard.GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("title").GetString()!).ToList();
        foreach (var wanted in new[] { "lag", "Throughput", "latency", "Uncalibrated", "$sensor hourly", "$sensor daily" })
        {
            Assert.Contains(titles, t => t.Contains(wanted, StringComparison.OrdinalIgnoreCase));
        }

        var sensor = Assert.Single(dashboard.GetProperty("templating").GetProperty("list").EnumerateArray());
        Assert.Equal("sensor", sensor.GetProperty("name").GetString());
        Assert.Equal(DatabaseUid, sensor.GetProperty("datasource").GetProperty("uid").GetString());
        Assert.Contains(targets, t => t.Uid == DatabaseUid && t.Target.GetProperty("rawSql").GetString()!.Contains("calibrated_hourly", StringComparison.Ordinal));
        Assert.Contains(targets, t => t.Uid == DatabaseUid && t.Target.GetProperty("rawSql").GetString()!.Contains("calibrated_daily", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_SQL_panel_and_the_sensor_variable_run_on_the_migrated_schema_with_Grafanas_macros(bool timescaleShaped)
    {
        await using var db = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync(timescaleShaped ? "grafana_ts" : "grafana"));
        await new Migrator(db).MigrateAsync(DatabaseMode.Plain, CancellationToken.None);
        await ExecuteAsync(db, """
            insert into raw_data (sensor_id, recorded_at, raw_value, received_at)
            select 'grafana-' || (g % 3), now() - interval '1 hour' - g * interval '1 minute', 20 + g % 7, now() - g * interval '1 minute'
              from generate_series(1, 120) g;
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version, calibrated_at)
            select id, recorded_at, sensor_id, raw_value * 1.01, 1, received_at + interval '150 milliseconds'
              from raw_data where raw_value <> 26;
            """);
        if (timescaleShaped)
        {
            // TimescaleDB's time_bucket for these widths (buckets from its origin, 2000-01-03 UTC),
            // and the rollups as the migration's continuous aggregates, materialized.
            await ExecuteAsync(db, """
                create function time_bucket(bucket_width interval, ts timestamptz) returns timestamptz
                    language sql immutable as $$ select date_bin(bucket_width, ts, timestamptz '2000-01-03 00:00:00+00') $$;
                drop view calibrated_hourly;
                drop view calibrated_daily;
                """);
            var aggregates = SqlScript.Split(Migrator.Migrations().Single(m => m.Id == "003_rollups").TimescaleSql!)
                .Select(s => string.Join('\n', s.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim())
                .Where(s => s.StartsWith("create materialized view", StringComparison.Ordinal) && s.Contains("timescaledb.continuous", StringComparison.Ordinal))
                .Select(s => ContinuousOptions().Replace(s, ""))
                .ToList();
            Assert.Equal(2, aggregates.Count);
            foreach (var aggregate in aggregates)
            {
                await ExecuteAsync(db, aggregate);
            }

            Assert.Equal(2, await ScalarAsync(db, "select count(*) from pg_matviews where matviewname in ('calibrated_hourly', 'calibrated_daily')"));
        }

        var macros = new GrafanaMacros(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddMinutes(1), TimeSpan.FromMinutes(1), timescaleShaped);
        var dashboard = Dashboard();
        var variable = dashboard.GetProperty("templating").GetProperty("list")[0].GetProperty("query").GetString()!;
        var sensors = await RowsAsync(db, macros.Expand(variable, new Dictionary<string, string>()));
        Assert.Equal(["grafana-0", "grafana-1", "grafana-2"], sensors.Select(r => (string)r["sensor_id"]!).ToArray());
        var values = new Dictionary<string, string> { ["sensor"] = "grafana-1" };

        var sqlTargets = Targets(dashboard).Where(t => t.Uid == DatabaseUid).ToList();
        Assert.True(sqlTargets.Count >= 6, $"{sqlTargets.Count} SQL targets");
        foreach (var (panel, _, target) in sqlTargets)
        {
            var sql = macros.Expand(target.GetProperty("rawSql").GetString()!, values);
            Assert.DoesNotContain("$", sql, StringComparison.Ordinal);
            List<Dictionary<string, object?>> rows;
            try
            {
                rows = await RowsAsync(db, sql);
            }
            catch (PostgresException e)
            {
                Assert.Fail($"{panel}: {e.MessageText} in\n{sql}");
                throw;
            }

            Assert.True(rows.Count > 0, $"{panel}: no rows from\n{sql}");
            if (target.GetProperty("format").GetString() == "time_series")
            {
                Assert.True(rows[0].ContainsKey("time"), $"{panel}: a time series needs a \"time\" column; has {string.Join(", ", rows[0].Keys)}");
            }

            if (panel.Contains("Uncalibrated", StringComparison.Ordinal))
            {
                // Readings with raw value 26 were left uncalibrated; all but the last two minutes' count.
                Assert.InRange(Convert.ToInt64(rows[0]["uncalibrated"], CultureInfo.InvariantCulture), 15, 17);
            }
        }
    }

    [Fact]
    public async Task Every_PromQL_expression_names_only_metrics_and_labels_the_app_exports()
    {
        var expressions = Targets(Dashboard()).Where(t => t.Uid == PrometheusUid)
            .Select(t => (t.Panel, Expr: t.Target.GetProperty("expr").GetString()!, Read: AlertRuleMetricsTests.ReadExpression(t.Target.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.True(expressions.Count >= 6, $"{expressions.Count} PromQL targets");
        Assert.All(expressions, e => Assert.NotEmpty(e.Read.Metrics));

        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("grafana_prom"));
        await using var app = await PipelineApp.StartAsync(settings);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await app.PostReadingsAsync(new { sensorId = "grafana-prom", recordedAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), value = 20.5 })).StatusCode);

        var wanted = expressions.SelectMany(e => e.Read.Metrics).ToHashSet(StringComparer.Ordinal);
        await Eventually.WaitForAsync(
            async () =>
            {
                var series = AlertRuleMetricsTests.ExportedSeries(await app.Http.GetStringAsync("/metrics"));
                return string.Join(", ", wanted.Where(n => !series.ContainsKey(n)).Order(StringComparer.Ordinal));
            },
            missing => missing.Length == 0, TimeSpan.FromSeconds(60), "/metrics to export every metric the dashboard uses (last value: those missing)");
        var exported = AlertRuleMetricsTests.ExportedSeries(await app.Http.GetStringAsync("/metrics"));
        foreach (var (panel, expr, (metrics, labels)) in expressions)
        {
            foreach (var label in labels)
            {
                Assert.True(metrics.Any(m => exported[m].Contains(label)), $"{panel}: no metric of `{expr}` carries the label {label}");
            }
        }
    }

    [GeneratedRegex(@"with\s*\(\s*timescaledb\.[^)]*\)", RegexOptions.IgnoreCase)]
    private static partial Regex ContinuousOptions();

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static async Task<List<Dictionary<string, object?>>> RowsAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
        {
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
        }

        return rows;
    }

    /// <summary>
    /// Grafana's PostgreSQL datasource, as far as the dashboard uses it: template variables
    /// (<c>$__interval</c>, <c>$__interval_ms</c>, <c>$name</c>; a single-value variable is inserted raw, quotes doubled),
    /// then the macros <c>$__time</c>, <c>$__timeEpoch</c>, <c>$__timeFilter</c>, <c>$__timeFrom</c>, <c>$__timeTo</c>,
    /// <c>$__timeGroup</c> and <c>$__timeGroupAlias</c> (<c>time_bucket('Ns',col)</c> with the datasource's
    /// TimescaleDB option, <c>floor(extract(epoch from col)/N)*N</c> without), as its macro engine writes them.
    /// </summary>
    private sealed partial class GrafanaMacros(DateTimeOffset from, DateTimeOffset to, TimeSpan interval, bool timescaleDb)
    {
        public string Expand(string sql, IReadOnlyDictionary<string, string> variables)
        {
            sql = sql.Replace("$__interval_ms", ((long)interval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("$__interval", $"{(long)interval.TotalSeconds}s", StringComparison.Ordinal);
            foreach (var (name, value) in variables)
            {
                sql = sql.Replace("${" + name + "}", value.Replace("'", "''", StringComparison.Ordinal), StringComparison.Ordinal)
                    .Replace("$" + name, value.Replace("'", "''", StringComparison.Ordinal), StringComparison.Ordinal);
            }

            return Macro().Replace(sql, m =>
            {
                var args = m.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries);
                return m.Groups[1].Value switch
                {
                    "time" => $"{args[0]} AS \"time\"",
                    "timeEpoch" => $"extract(epoch from {args[0]}) as \"time\"",
                    "timeFilter" => $"{args[0]} BETWEEN {Quote(from)} AND {Quote(to)}",
                    "timeFrom" => Quote(from),
                    "timeTo" => Quote(to),
                    "timeGroup" => TimeGroup(args),
                    "timeGroupAlias" => TimeGroup(args) + " AS \"time\"",
                    var other => throw new InvalidOperationException($"macro $__{other} is not one the test knows"),
                };
            });
        }

        private string TimeGroup(string[] args)
        {
            var seconds = Seconds(args[1].Trim('\'', '"'));
            return timescaleDb
                ? $"time_bucket('{seconds}s',{args[0]})"
                : $"floor(extract(epoch from {args[0]})/{seconds})*{seconds}";
        }

        private static long Seconds(string text)
        {
            var m = Duration().Match(text);
            Assert.True(m.Success, $"interval '{text}'");
            var n = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return m.Groups[2].Value switch { "ms" => n / 1000, "s" => n, "m" => n * 60, "h" => n * 3600, "d" => n * 86400, _ => n };
        }

        private static string Quote(DateTimeOffset t) => "'" + t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture) + "'";

        [GeneratedRegex(@"\$__(\w+)\(([^)]*)\)")]
        private static partial Regex Macro();

        [GeneratedRegex(@"^(\d+)(ms|s|m|h|d)?$")]
        private static partial Regex Duration();
    }
}
