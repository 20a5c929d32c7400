using Microsoft.Extensions.Options;
using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Calibrate;
using SensorPipeline.Functions.Health;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// The operator's view of the pipeline, one source for the browser dashboard and the terminal
/// <c>status</c> command (<c>GET /api/console/pipeline</c>): throughput, each consumer group's lag
/// beside its KEDA threshold (messages, seconds, trend, when it clears, per partition, recent
/// history), uncalibrated readings, dead letters by function and reason, recalibration jobs, and
/// <see cref="Body.Attention"/> — what needs a person, by the rule <see cref="Attend"/> states.
/// <para>
/// Throughput, right across replicas: received = raw rows stored in the last
/// <see cref="ThroughputWindow"/> (the database; the <c>received_at</c> index of migration 001),
/// calibrated = messages the calibration groups committed in that window (Kafka's committed
/// offsets, one message per reading; read from <see cref="LagHistory"/>, no query on the
/// calibrated table, whose <c>calibrated_at</c> stays unindexed so recalibration upserts stay HOT).
/// </para>
/// </summary>
public sealed partial class PipelineView(
    KafkaLagReader kafka,
    LagHistory history,
    LagThresholds thresholds,
    OldestMessageAge ages,
    DeadLetterBox deadLetterBox,
    PipelineProgress progress,
    RawReadingStore raw,
    RecalibrationStore recalibrations,
    PayloadLedgerStore ledger,
    NpgsqlDataSource dataSource,
    IOptions<PipelineOptions> options,
    IOptions<FunctionsHostOptions> host,
    TimeProvider time,
    ILogger<PipelineView> logger)
{
    public static readonly TimeSpan ThroughputWindow = TimeSpan.FromSeconds(10);

    /// <summary>Over how long the trend (lag change per second) is fitted.</summary>
    public static readonly TimeSpan TrendWindow = TimeSpan.FromMinutes(1);

    /// <summary>Most dead letters read (headers) per dead-letter topic for the breakdown by reason.</summary>
    public const int DeadLetterReadLimit = 500;

    private static readonly string[] CalibrationFunctions = [nameof(CalibrateRealtime), nameof(CalibrateHistorical)];

    /// <summary>Requests within this long of a read share it: the cost per instance is bounded whatever the number of viewers.</summary>
    public static readonly TimeSpan SharedFor = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private (DateTimeOffset At, string Key, IReadOnlyList<DeadLetterItem> Items)? _deadLetters;
    private (DateTimeOffset At, Task<Body> Read)? _current;

    /// <summary>The view now, or the one read less than <see cref="SharedFor"/> ago (or being read).</summary>
    public Task<Body> ReadAsync(CancellationToken cancellationToken)
    {
        Task<Body> read;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_current is { } current && (now - current.At < SharedFor || !current.Read.IsCompleted))
            {
                read = current.Read;
            }
            else
            {
                // Not cancelled with the first request: others may be waiting for it. Every call
                // in it has its own timeout (Kafka requests 5 s, commands the connection's).
                read = Task.Run(() => ReadNowAsync(CancellationToken.None), CancellationToken.None);
                _current = (now, read);
            }
        }

        return read.WaitAsync(cancellationToken);
    }

    private async Task<Body> ReadNowAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var attention = new List<AttentionItem>();
        KafkaLagSnapshot? lag = null;
        try
        {
            lag = await kafka.ReadAsync(cancellationToken);
            history.Record(lag);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogKafkaFailed(logger, e.Message);
            attention.Add(new AttentionItem(Critical, "kafka", "kafka", $"Consumer lag could not be read: {e.Message}"));
        }

        var samples = history.Samples();
        var consumers = new List<ConsumerItem>();
        foreach (var c in lag?.Consumers ?? [])
        {
            var threshold = thresholds.Of(c.Function) ?? 0;
            var trend = LagHistory.Trend(samples, c.Function, TrendWindow);
            double? clears = c.Lag == 0 ? 0 : trend < 0 ? c.Lag / -trend : null;
            consumers.Add(new ConsumerItem(
                c.Function, c.Group, c.Topic, c.Lag, threshold,
                c.TopicExists ? await ages.SecondsAsync(c, cancellationToken) : null,
                Math.Round(trend, 3), clears is { } s ? Math.Round(s, 1) : null,
                c.Partitions.Select(p => new PartitionItem(p.Partition, p.Lag, p.Committed, p.HighWatermark)).ToList(),
                samples.Where(h => h.Consumers.ContainsKey(c.Function)).Select(h => new HistoryPoint(h.At, h.Consumers[c.Function].Lag)).ToList()));
        }

        var receivedPerSecond = 0.0;
        UncalibratedItem uncalibrated = new(0, 0, o.ReconcileGracePeriod.TotalSeconds);
        var jobs = new List<RecalibrationItem>();
        var ingestErrors = new IngestErrorCounts([], 0);
        var now = time.GetUtcNow();
        try
        {
            ingestErrors = await ledger.CountAsync(cancellationToken);
            receivedPerSecond = await ReceivedAsync(cancellationToken) / ThroughputWindow.TotalSeconds;
            var report = await raw.FindUncalibratedAsync(o.ReconcileGracePeriod, o.ReconcileLookback, 0, cancellationToken);
            uncalibrated = uncalibrated with
            {
                Count = report.Total,
                OldestAgeSeconds = report.OldestReceivedAt is { } oldest ? Math.Round(Math.Max(0, (now - oldest).TotalSeconds), 1) : 0,
            };
            foreach (var job in await recalibrations.ListActiveAsync(cancellationToken))
            {
                var (calibrated, remaining) = await recalibrations.CountProgressAsync(job, cancellationToken);
                var total = calibrated + remaining;
                jobs.Add(new RecalibrationItem(job.Id, job.SensorId, job.State, total, job.Published, calibrated,
                    total == 0 ? 100 : Math.Round(100.0 * calibrated / total, 1)));
            }
        }
        catch (NpgsqlException e)
        {
            LogDatabaseFailed(logger, e.Message);
            attention.Add(new AttentionItem(Critical, "database", "database", $"The database did not answer: {e.Message}"));
        }

        var deadLetters = lag is null ? [] : await DeadLettersAsync(lag, cancellationToken);
        var body = new Body(
            now,
            new ThroughputItem(ThroughputWindow.TotalSeconds, Math.Round(receivedPerSecond, 2),
                Math.Round(LagHistory.CommitRate(samples, CalibrationFunctions, ThroughputWindow), 2)),
            consumers,
            uncalibrated,
            deadLetters,
            ingestErrors,
            jobs,
            attention);
        return body with { Attention = Attend(body, progress.Read()) };
    }

    public const string Warning = "warning", Critical = "critical";

    /// <summary>
    /// What needs a person (the rule <c>status</c> exits on; README "Pipeline view"):
    /// critical — Kafka or the database unreadable; a group's lag above partitions × its threshold
    /// and not shrinking (more than KEDA can scale to: one consumer per partition); something stalled in this instance
    /// (a consumer, a timer, the ingest backlog);
    /// warning — a group's lag above its threshold (more than one instance's worth waiting);
    /// dead letters not replayed; readings uncalibrated past the grace period; a stalled recalibration.
    /// </summary>
    public static IReadOnlyList<AttentionItem> Attend(Body body, ProgressReport progress)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(progress);
        var items = body.Attention.Where(a => a.What is "kafka" or "database").ToList();
        foreach (var c in body.Consumers.Where(c => c.LagThreshold > 0 && c.Lag > c.LagThreshold))
        {
            var ceiling = c.LagThreshold * Math.Max(1, c.Partitions.Count);
            items.Add(c.Lag > ceiling && c.TrendPerSecond >= 0
                ? new AttentionItem(Critical, "lag", c.Function, $"lag {c.Lag} is above {ceiling} ({c.Partitions.Count} partitions × threshold {c.LagThreshold}) and not shrinking: more than KEDA can scale out for")
                : new AttentionItem(Warning, "lag", c.Function, c.ClearsInSeconds is { } clears
                    ? $"lag {c.Lag} is above the threshold {c.LagThreshold}, clearing in about {clears:0} s"
                    : $"lag {c.Lag} is above the threshold {c.LagThreshold}: more than one instance's worth waiting"));
        }

        var stalledJobs = progress.Recalibrations.Where(r => r.Stalled).Select(r => $"recalibration {r.Id}").ToHashSet(StringComparer.Ordinal);
        foreach (var (subject, reason) in progress.StalledHere())
        {
            items.Add(stalledJobs.Contains(subject)
                ? new AttentionItem(Warning, "recalibration", subject, reason)
                : new AttentionItem(Critical, "stalled", subject, reason));
        }

        foreach (var d in body.DeadLetters)
        {
            items.Add(new AttentionItem(Warning, "deadLetters", d.Function, $"{d.Count} dead letter(s) from {d.Topic}: {d.Reason}"));
        }

        if (body.Uncalibrated.Count > 0)
        {
            items.Add(new AttentionItem(Warning, "uncalibrated", "readings",
                $"{body.Uncalibrated.Count} reading(s) uncalibrated past the {body.Uncalibrated.GracePeriodSeconds:0} s grace period, oldest {body.Uncalibrated.OldestAgeSeconds:0} s"));
        }

        return items;
    }

    private async Task<long> ReceivedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select count(*) from raw_data where received_at >= now() - $1");
        command.Parameters.Add(new NpgsqlParameter { Value = ThroughputWindow });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Dead letters not replayed yet, by function and reason: how many from the replay group's lag on
    /// each dead-letter topic (cheap); which function and reason from the headers of at most
    /// <see cref="DeadLetterReadLimit"/> per topic, read only when the counts changed (or every
    /// 30 s); letters beyond the limit are counted under reason "(not read)".
    /// </summary>
    private async Task<IReadOnlyList<DeadLetterItem>> DeadLettersAsync(KafkaLagSnapshot lag, CancellationToken cancellationToken)
    {
        var suffix = host.Value.Extensions.Kafka.DeadLetterSuffix;
        var topics = lag.DeadLetters.Where(d => d.Exists && d.Messages > 0).Select(d => d.Topic).ToList();
        var waiting = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            foreach (var topic in topics)
            {
                var count = await kafka.GetTotalLagAsync(topic, DeadLetterBox.ReplayGroup, cancellationToken);
                if (count > 0)
                {
                    waiting[topic] = count;
                }
            }
        }
        catch (Confluent.Kafka.KafkaException e)
        {
            LogKafkaFailed(logger, e.Message);
            return [];
        }

        if (waiting.Count == 0)
        {
            return [];
        }

        var key = string.Join(";", waiting.Select(w => $"{w.Key}={w.Value}"));
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_deadLetters is { } cached && cached.Key == key && now - cached.At < TimeSpan.FromSeconds(30))
            {
                return cached.Items;
            }
        }

        var letters = await deadLetterBox.ListAsync(waiting.Keys, DeadLetterReadLimit, cancellationToken);
        var items = letters
            .GroupBy(l => (Function: l.Function, Topic: l.OriginalTopic.Length > 0 ? l.OriginalTopic : l.Topic[..^suffix.Length], l.Reason))
            .Select(g => new DeadLetterItem(g.Key.Function, g.Key.Topic, g.Key.Reason, g.Count()))
            .ToList();
        foreach (var (topic, count) in waiting)
        {
            var read = letters.Count(l => l.Topic == topic);
            if (count > read)
            {
                items.Add(new DeadLetterItem("", topic.EndsWith(suffix, StringComparison.Ordinal) ? topic[..^suffix.Length] : topic, "(not read)", count - read));
            }
        }

        items = items.OrderByDescending(i => i.Count).ToList();
        lock (_gate)
        {
            _deadLetters = (now, key, items);
        }

        return items;
    }

    /// <summary>The view, as <c>GET /api/console/pipeline</c> answers it (camelCase JSON).</summary>
    public sealed record Body(
        DateTimeOffset GeneratedAt,
        ThroughputItem Throughput,
        IReadOnlyList<ConsumerItem> Consumers,
        UncalibratedItem Uncalibrated,
        IReadOnlyList<DeadLetterItem> DeadLetters,
        IngestErrorCounts IngestErrors,
        IReadOnlyList<RecalibrationItem> Recalibrations,
        IReadOnlyList<AttentionItem> Attention);

    public sealed record ThroughputItem(double WindowSeconds, double ReceivedPerSecond, double CalibratedPerSecond);

    public sealed record ConsumerItem(
        string Function, string Group, string Topic, long Lag, long LagThreshold, double? LagSeconds,
        double TrendPerSecond, double? ClearsInSeconds, IReadOnlyList<PartitionItem> Partitions, IReadOnlyList<HistoryPoint> History);

    public sealed record PartitionItem(int Partition, long Lag, long? Committed, long End);

    public sealed record HistoryPoint(DateTimeOffset At, long Lag);

    public sealed record UncalibratedItem(long Count, double OldestAgeSeconds, double GracePeriodSeconds);

    public sealed record DeadLetterItem(string Function, string Topic, string Reason, long Count);


    public sealed record RecalibrationItem(long Id, string? SensorId, string State, long Total, long Published, long Calibrated, double Percent);

    /// <summary>One thing that needs a person: <c>warning</c> or <c>critical</c>, what kind, about what, and why.</summary>
    public sealed record AttentionItem(string Severity, string What, string Subject, string Message);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Pipeline view: reading Kafka failed: {Reason}")]
    private static partial void LogKafkaFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "Pipeline view: the database did not answer: {Reason}")]
    private static partial void LogDatabaseFailed(ILogger logger, string reason);
}
