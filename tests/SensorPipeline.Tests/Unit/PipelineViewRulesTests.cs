using SensorPipeline.Functions.Health;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Functions.Ingest;
using SensorPipeline.Functions.OperatorConsole;
using SensorPipeline.Functions.Reconcile;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Tests.Infrastructure;
using Spectre.Console;

namespace SensorPipeline.Tests.Unit;

/// <summary>
/// The pipeline view's parts without servers: the lag history (bounded, spaced, trend, commit
/// rate), the attention rule and the exit codes <c>status</c> derives from it, and its rendering at
/// 80 columns whatever the names.
/// </summary>
public sealed class PipelineViewRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 5, 0, 0, TimeSpan.Zero);

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static KafkaLagSnapshot Snapshot(DateTimeOffset at, long lag, long committed) =>
        new(at, [new ConsumerLag("CalibrateRealtime", "g", "t", true, lag, [PartitionLag.Of(0, 0, committed + lag, committed)])], []);

    [Fact]
    public void Lag_history_keeps_samples_about_MinSpacing_apart_within_the_window_and_at_most_Capacity()
    {
        var time = new ManualTime(T0);
        var history = new LagHistory(time);
        // Reads every 0.5 s: the newest always shows, the samples stay >= MinSpacing apart but for the last.
        for (var i = 0; i < 9; i++)
        {
            time.Now = T0.AddSeconds(i * 0.5);
            history.Record(Snapshot(time.Now, i, 0));
        }

        var samples = history.Samples();
        Assert.Equal(T0.AddSeconds(4), samples[^1].At);
        Assert.Equal(8, samples[^1].Consumers["CalibrateRealtime"].Lag);
        Assert.All(samples.Zip(samples.Skip(1)).SkipLast(1), p => Assert.True(p.Second.At - p.First.At >= LagHistory.MinSpacing));

        // Far more reads than the ring holds, over far longer than the window.
        for (var i = 0; i < LagHistory.Capacity * 3; i++)
        {
            time.Now = T0.AddSeconds(10 + i * 3);
            history.Record(Snapshot(time.Now, i, 0));
        }

        samples = history.Samples();
        Assert.InRange(samples.Count, 2, LagHistory.Capacity);
        Assert.All(samples, s => Assert.True(time.Now - s.At <= LagHistory.Window));
    }

    [Fact]
    public void Trend_is_negative_while_lag_shrinks_and_commit_rate_counts_committed_offsets_per_second()
    {
        var time = new ManualTime(T0);
        var history = new LagHistory(time);
        for (var i = 0; i <= 10; i++)
        {
            time.Now = T0.AddSeconds(i * 3);
            history.Record(Snapshot(time.Now, 1000 - i * 60, i * 90));
        }

        var samples = history.Samples();
        Assert.Equal(-20.0, LagHistory.Trend(samples, "CalibrateRealtime", TimeSpan.FromMinutes(1)), 6);
        Assert.Equal(0.0, LagHistory.Trend(samples, "Unknown", TimeSpan.FromMinutes(1)));
        Assert.Equal(30.0, LagHistory.CommitRate(samples, ["CalibrateRealtime"], TimeSpan.FromSeconds(10)), 6);
        Assert.Equal(0.0, LagHistory.CommitRate(samples.Take(1).ToList(), ["CalibrateRealtime"], TimeSpan.FromSeconds(10)));
    }

    private static PipelineView.ConsumerItem Consumer(string function, long lag, long threshold, double trend, int partitions = 4) =>
        new(function, "g", "t", lag, threshold, 1, trend, trend < 0 ? lag / -trend : null,
            Enumerable.Range(0, partitions).Select(p => new PipelineView.PartitionItem(p, lag / partitions, 0, lag / partitions)).ToList(), []);

    private static PipelineView.Body Body(IReadOnlyList<PipelineView.ConsumerItem> consumers, long deadLetters = 0, long uncalibrated = 0) =>
        new(T0, new PipelineView.ThroughputItem(10, 0, 0), consumers,
            new PipelineView.UncalibratedItem(uncalibrated, uncalibrated > 0 ? 300 : 0, 120),
            deadLetters > 0 ? [new PipelineView.DeadLetterItem("PersistRawReadings", "temperature.raw", "JsonException: bad", deadLetters)] : [],
            new SensorPipeline.Domain.Storage.IngestErrorCounts([], 0), [], []);

    private static ProgressReport Progress(params RecalibrationJobHealth[] jobs) =>
        new(false, 60, [], [], jobs, new BacklogHealth(true, 0, 100_000, null, null, false, null));

    [Fact]
    public void Attention_rule_warns_over_the_threshold_and_is_critical_beyond_partitions_times_threshold_unless_shrinking()
    {
        Assert.Empty(PipelineView.Attend(Body([Consumer("A", 100, 100, 0)]), Progress()));
        Assert.Equal(StatusCommand.Healthy, StatusCommand.ExitCode(Body([Consumer("A", 100, 100, 0)])));

        var warning = Assert.Single(PipelineView.Attend(Body([Consumer("A", 101, 100, 5)]), Progress()));
        Assert.Equal((PipelineView.Warning, "lag", "A"), (warning.Severity, warning.What, warning.Subject));

        var critical = Assert.Single(PipelineView.Attend(Body([Consumer("A", 401, 100, 0)]), Progress()));
        Assert.Equal(PipelineView.Critical, critical.Severity);

        var clearing = Assert.Single(PipelineView.Attend(Body([Consumer("A", 401, 100, -50)]), Progress()));
        Assert.Equal(PipelineView.Warning, clearing.Severity);
        Assert.Contains("clearing in about 8 s", clearing.Message, StringComparison.Ordinal);

        var others = PipelineView.Attend(Body([], deadLetters: 3, uncalibrated: 7),
            Progress(new RecalibrationJobHealth(5, "s1", 10, 10, 2, T0, true, "no progress")));
        Assert.Equal(
            [("deadLetters", "PersistRawReadings"), ("recalibration", "recalibration 5"), ("uncalibrated", "readings")],
            others.Select(a => (a.What, a.Subject)).Order().ToArray());
        Assert.All(others, a => Assert.Equal(PipelineView.Warning, a.Severity));

        var body = Body([Consumer("A", 101, 100, 5)]);
        Assert.Equal(StatusCommand.Warning, StatusCommand.ExitCode(body with { Attention = PipelineView.Attend(body, Progress()) }));
        body = Body([Consumer("A", 401, 100, 5), Consumer("B", 101, 100, 5)]);
        Assert.Equal(StatusCommand.Critical, StatusCommand.ExitCode(body with { Attention = PipelineView.Attend(body, Progress()) }));
    }

    [Fact]
    public void Status_renders_within_80_columns_whatever_the_names_and_numbers()
    {
        var consumer = Consumer("AFunctionWithAVeryLongNameThatGoesOnAndOnBeyondEightyColumnsOfTerminalWidthForSure", 123_456_789, 4000, -1234.5, partitions: 12)
            with { Group = new string('g', 60), Topic = new string('t', 60) };
        var body = Body([consumer], deadLetters: 1_000_000, uncalibrated: 5) with
        {
            Recalibrations = [new PipelineView.RecalibrationItem(123456, new string('s', 70), "publishing", 9_999_999_999, 123, 456, 0.1)],
        };
        body = body with { Attention = PipelineView.Attend(body, Progress()) };
        var (console, output) = PlainConsole.Create();

        console.Write(StatusCommand.Render(body, "http://" + new string('h', 90) + ":7071", fancy: false));

        var text = output.ToString();
        var lines = text.Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        Assert.True(lines.Any(l => l.StartsWith("  total [########################> 123456789 / 4000", StringComparison.Ordinal)), text);
        Assert.True(lines.Any(l => l.StartsWith("  p11   [", StringComparison.Ordinal)), text);
        Assert.True(lines.Any(l => l.Contains("trend -1234.5/s, clears in 1.2 d", StringComparison.Ordinal)), text);
    }
}
