using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using SensorPipeline.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace SensorPipeline.Tests.Deployment;

/// <summary>
/// Every metric an alert of keda/monitoring/prometheus-rules.yaml uses is exported by the app
/// under that name (Prometheus naming: counters end in <c>_total</c>, a unit in seconds in
/// <c>_seconds</c>), and so is every label its selectors and <c>by (...)</c> name: the app is
/// started in-process, made to produce each kind of sample (a refusal, a dead letter, the
/// calibration file), and /metrics scraped.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class AlertRuleMetricsTests(TestServers servers)
{
    private static readonly HashSet<string> PromQl = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
        "sum", "max", "min", "avg", "count", "rate", "increase", "delta", "deriv", "irate", "abs", "topk", "bottomk",
        "max_over_time", "min_over_time", "avg_over_time", "absent", "histogram_quantile", "clamp_min", "clamp_max",
    };

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Range();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"[A-Za-z_:][A-Za-z0-9_:]*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")]
    private static partial Regex Matcher();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex Quoted();

    /// <summary>Metric names and label names of each alert's expression.</summary>
    internal static List<(string Alert, HashSet<string> Metrics, HashSet<string> Labels)> ReadAlerts(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var alerts = new List<(string, HashSet<string>, HashSet<string>)>();
        foreach (var group in ((YamlSequenceNode)((YamlMappingNode)root["spec"])["groups"]).Children.Cast<YamlMappingNode>())
        {
            foreach (var rule in ((YamlSequenceNode)group["rules"]).Children.Cast<YamlMappingNode>())
            {
                var (metrics, labels) = ReadExpression(((YamlScalarNode)rule["expr"]).Value!);
                alerts.Add((((YamlScalarNode)rule["alert"]).Value!, metrics, labels));
            }
        }

        return alerts;
    }

    /// <summary>The metric names and label names of one PromQL expression (alerts, Grafana panels).</summary>
    internal static (HashSet<string> Metrics, HashSet<string> Labels) ReadExpression(string expr)
    {
        var labels = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match selector in Selector().Matches(expr))
        {
            foreach (Match m in Matcher().Matches(Quoted().Replace(selector.Value, "\"\"")))
            {
                labels.Add(m.Groups[1].Value);
            }
        }

        foreach (Match g in Grouping().Matches(expr))
        {
            labels.UnionWith(g.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        }

        var bare = Grouping().Replace(Range().Replace(Selector().Replace(expr, " "), " "), " ");
        var metrics = Identifier().Matches(bare).Select(m => m.Value).Where(n => !PromQl.Contains(n)).ToHashSet(StringComparer.Ordinal);
        return (metrics, labels);
    }

    [Fact]
    public void The_expression_reader_finds_metrics_and_labels_and_nothing_else()
    {
        var (alert, metrics, labels) = Assert.Single(ReadAlerts("""
            spec:
              groups:
                - name: g
                  rules:
                    - alert: A
                      expr: |
                        max by (a_label, b) (some_metric_total{c="x", d!~"y.*"}) > 1000
                        and sum(rate(other_seconds[5m])) > 0
            """));
        Assert.Equal("A", alert);
        Assert.Equal(["other_seconds", "some_metric_total"], metrics.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(["a_label", "b", "c", "d"], labels.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Every_metric_and_label_an_alert_uses_is_exported_by_the_app()
    {
        var rules = File.ReadAllText(Path.Combine(SensorPipeline.Tests.Unit.StartupChecksTests.FindRepositoryRoot(), "keda", "monitoring", "prometheus-rules.yaml"));
        var alerts = ReadAlerts(rules);
        Assert.True(alerts.Count >= 7, $"{alerts.Count} alerts");
        Assert.All(alerts, a => Assert.NotEmpty(a.Metrics));

        var folder = Directory.CreateTempSubdirectory("alert-metrics-").FullName;
        try
        {
            var file = Path.Combine(folder, "calibration.yaml");
            await File.WriteAllTextAsync(file, "sensors: {}\n");
            var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("alerts"));
            settings["CalibrationFile"] = file;
            settings["CalibrationFilePollInterval"] = "00:00:01";
            await using var app = await PipelineApp.StartAsync(settings);

            // A sample of each counter: a refused request (415), a dead letter (an undecodable raw message).
            var refused = await app.Http.PostAsync("/api/readings", new StringContent("x", Encoding.UTF8, "text/plain"));
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(new { sensorId = "alerts-1", recordedAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), value = 20.5 })).StatusCode);
            await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, settings["RawTopic"]!, [("alerts-1", Encoding.UTF8.GetBytes("{not json"))]);

            var wanted = alerts.SelectMany(a => a.Metrics).ToHashSet(StringComparer.Ordinal);
            await Eventually.WaitForAsync(
                async () =>
                {
                    var series = ExportedSeries(await app.Http.GetStringAsync("/metrics"));
                    return string.Join(", ", wanted.Where(n => !series.ContainsKey(n)).Order(StringComparer.Ordinal));
                },
                missing => missing.Length == 0, TimeSpan.FromSeconds(60), "/metrics to export every metric the alerts use (last value: those missing)");
            var exported = ExportedSeries(await app.Http.GetStringAsync("/metrics"));

            foreach (var (alert, metrics, labels) in alerts)
            {
                foreach (var label in labels)
                {
                    Assert.True(metrics.Any(m => exported[m].Contains(label)),
                        $"{alert}: no metric of {string.Join(", ", metrics)} carries the label {label} (exported labels: {string.Join(", ", metrics.SelectMany(m => exported[m]).Distinct())})");
                }
            }

            // The 503 alert selects on the status code label: the refusal above carries it.
            Assert.Contains("http_response_status_code=\"415\"", await app.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Each exported series name (histograms by their base name too) with the label names seen on it.</summary>
    internal static Dictionary<string, HashSet<string>> ExportedSeries(string text)
    {
        var series = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var end = line.IndexOfAny(['{', ' ']);
            var name = end < 0 ? line : line[..end];
            if (!series.TryGetValue(name, out var labels))
            {
                series[name] = labels = new HashSet<string>(StringComparer.Ordinal);
            }

            if (end >= 0 && line[end] == '{')
            {
                foreach (Match m in Matcher().Matches(Quoted().Replace(line[end..(line.IndexOf('}', end) + 1)], "\"\"")))
                {
                    labels.Add(m.Groups[1].Value);
                }
            }
        }

        return series;
    }
}
