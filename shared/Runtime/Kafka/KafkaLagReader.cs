using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Reads consumer lag the way KEDA's Kafka scaler computes it (per partition: log end offset −
/// committed offset; a partition with no committed offset counts from its earliest offset, as the
/// consumers start there with <c>auto.offset.reset=earliest</c>) for every Kafka-triggered function
/// in the app — also those this instance does not run, so an ingest-only instance shows the lag of
/// the consumers elsewhere — and the size of each dead-letter topic. Publishes the lag as the
/// observable gauge <c>messaging.kafka.consumer.lag</c>, recomputed at most every 10 seconds.
/// The one lag reader of the process (one admin client): status, readiness, ingest backpressure
/// and the recalibration producer's in-flight bound all read lag here.
/// </summary>
public sealed partial class KafkaLagReader : IDisposable
{
    /// <summary>How old a snapshot the gauge may report before it asks the cluster again.</summary>
    public static readonly TimeSpan GaugeMaxAge = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly FunctionCatalog _catalog;
    private readonly SettingResolver _settings;
    private readonly IOptions<FunctionsHostOptions> _host;
    private readonly IOptions<KafkaConnectionOptions> _connection;
    private readonly ILogger<KafkaLagReader> _logger;
    private readonly Lazy<IAdminClient> _admin;
    private readonly Lazy<IConsumer<byte[], byte[]>> _watermarks;
    private readonly Meter _meter;
    private readonly Lock _gate = new();
    private KafkaLagSnapshot? _last;
    private Task? _refreshing;

    public KafkaLagReader(
        FunctionCatalog catalog,
        SettingResolver settings,
        IOptions<FunctionsHostOptions> host,
        IOptions<KafkaConnectionOptions> connection,
        IMeterFactory meters,
        ILogger<KafkaLagReader> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _catalog = catalog;
        _settings = settings;
        _host = host;
        _connection = connection;
        _logger = logger;
        _admin = new Lazy<IAdminClient>(() => new AdminClientBuilder(_connection.Value.Apply(new AdminClientConfig
        {
            ClientId = "sensorpipeline-admin",
        })).SetErrorHandler((_, error) => LogAdminError(_logger, error.Code, error.Reason)).Build());
        _watermarks = new Lazy<IConsumer<byte[], byte[]>>(() => new ConsumerBuilder<byte[], byte[]>(_connection.Value.Apply(new ConsumerConfig
        {
            ClientId = "sensorpipeline-watermarks",
            GroupId = "sensorpipeline-lag-monitor",
            EnableAutoCommit = false,
        })).Build());
        _meter = meters.Create(RuntimeTelemetry.MeterName);
        _meter.CreateObservableGauge("messaging.kafka.consumer.lag", ObserveLag, unit: "{message}",
            description: "Consumer group lag per topic: log end offset minus committed offset, summed over partitions (as KEDA computes it).");
    }

    /// <summary>The topics and groups of every Kafka-triggered function (resolvable ones).</summary>
    public IReadOnlyList<(string Function, string Topic, string Group)> Consumers()
    {
        var consumers = new List<(string, string, string)>();
        foreach (var function in _catalog.All.Where(f => f.Trigger is KafkaTriggerAttribute))
        {
            var trigger = (KafkaTriggerAttribute)function.Trigger;
            try
            {
                var usedBy = $"function {function.Name}";
                consumers.Add((function.Name, _settings.Resolve(trigger.Topic, usedBy), _settings.Resolve(trigger.ConsumerGroup ?? function.Name, usedBy)));
            }
            catch (InvalidOperationException)
            {
                // A function whose settings are missing cannot run anywhere with this configuration.
            }
        }

        return consumers;
    }

    /// <summary>Asks the cluster now (and remembers the answer for the gauge).</summary>
    public async Task<KafkaLagSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var snapshot = await Task.Run(() => ReadCoreAsync(Consumers(), includeDeadLetters: true, cancellationToken), cancellationToken);
        lock (_gate)
        {
            _last = snapshot;
        }

        return snapshot;
    }

    /// <summary>One consumer group's lag on one topic, per partition, asked now.</summary>
    public async Task<IReadOnlyList<PartitionLag>> GetLagAsync(string topic, string group, CancellationToken cancellationToken)
    {
        var snapshot = await Task.Run(() => ReadCoreAsync([(group, topic, group)], includeDeadLetters: false, cancellationToken), cancellationToken);
        return snapshot.Consumers[0].Partitions;
    }

    /// <summary>One consumer group's total lag on one topic, asked now.</summary>
    public async Task<long> GetTotalLagAsync(string topic, string group, CancellationToken cancellationToken) =>
        (await GetLagAsync(topic, group, cancellationToken)).Sum(p => p.Lag);

    /// <summary>A metadata request with a short timeout: is a broker answering?</summary>
    public Task<int> PingAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.Run(() => _admin.Value.GetMetadata(timeout).Brokers.Count, cancellationToken);

    private async Task<KafkaLagSnapshot> ReadCoreAsync(
        IReadOnlyList<(string Function, string Topic, string Group)> consumers, bool includeDeadLetters, CancellationToken cancellationToken)
    {
        var admin = _admin.Value;
        var suffix = _host.Value.Extensions.Kafka.DeadLetterSuffix;
        var deadLetterTopics = includeDeadLetters ? consumers.Select(c => c.Topic + suffix).Distinct(StringComparer.Ordinal).ToList() : [];

        // One metadata request for all topics: asking for a missing topic by name may create it.
        var metadata = admin.GetMetadata(RequestTimeout);
        var partitions = metadata.Topics
            .Where(t => !t.Error.IsError)
            .ToDictionary(t => t.Topic, t => t.Partitions.Select(p => p.PartitionId).Order().ToList(), StringComparer.Ordinal);
        var wanted = consumers.Select(c => c.Topic).Concat(deadLetterTopics)
            .Distinct(StringComparer.Ordinal)
            .Where(partitions.ContainsKey)
            .SelectMany(t => partitions[t].Select(p => new TopicPartition(t, p)))
            .ToList();
        var earliest = await OffsetsAsync(admin, wanted, OffsetSpec.Earliest(), cancellationToken);
        var latest = await OffsetsAsync(admin, wanted, OffsetSpec.Latest(), cancellationToken);
        // A broker that does not answer the admin ListOffsets request for a partition (e.g. the
        // librdkafka 2.0 mock hosted by Debian's kcat answers with errors) would read as lag 0:
        // ask for those partitions' watermarks the consumer's way instead.
        foreach (var partition in wanted.Where(p => !earliest.ContainsKey(p) || !latest.ContainsKey(p)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var watermarks = _watermarks.Value.QueryWatermarkOffsets(partition, RequestTimeout);
                earliest[partition] = Math.Max(0, watermarks.Low.Value);
                latest[partition] = Math.Max(0, watermarks.High.Value);
            }
            catch (KafkaException e)
            {
                LogWatermarksFailed(_logger, partition.Topic, partition.Partition.Value, e.Error.Reason);
            }
        }

        var lags = new List<ConsumerLag>();
        foreach (var (function, topic, group) in consumers)
        {
            if (!partitions.TryGetValue(topic, out var ids))
            {
                lags.Add(new ConsumerLag(function, group, topic, false, 0, []));
                continue;
            }

            var committed = await CommittedAsync(admin, group, topic, ids, cancellationToken);
            var perPartition = ids.Select(p =>
            {
                var tp = new TopicPartition(topic, p);
                return PartitionLag.Of(p, earliest.GetValueOrDefault(tp), latest.GetValueOrDefault(tp), committed.TryGetValue(p, out var c) ? c : null);
            }).ToList();
            lags.Add(new ConsumerLag(function, group, topic, true, perPartition.Sum(p => p.Lag), perPartition));
        }

        var deadLetters = deadLetterTopics.Select(t => partitions.TryGetValue(t, out var ids)
            ? new DeadLetterCount(t, true, ids.Sum(p => Math.Max(0, latest.GetValueOrDefault(new TopicPartition(t, p)) - earliest.GetValueOrDefault(new TopicPartition(t, p)))))
            : new DeadLetterCount(t, false, 0)).ToList();
        return new KafkaLagSnapshot(DateTimeOffset.UtcNow, lags, deadLetters);
    }

    private static async Task<Dictionary<TopicPartition, long>> OffsetsAsync(
        IAdminClient admin, List<TopicPartition> partitions, OffsetSpec spec, CancellationToken cancellationToken)
    {
        var offsets = new Dictionary<TopicPartition, long>();
        if (partitions.Count == 0)
        {
            return offsets;
        }

        var result = await admin.ListOffsetsAsync(
            partitions.Select(p => new TopicPartitionOffsetSpec { TopicPartition = p, OffsetSpec = spec }),
            new ListOffsetsOptions { RequestTimeout = RequestTimeout }).WaitAsync(cancellationToken);
        foreach (var info in result.ResultInfos)
        {
            var tpo = info.TopicPartitionOffsetError;
            if (!tpo.Error.IsError && tpo.Offset.Value >= 0)
            {
                offsets[tpo.TopicPartition] = tpo.Offset.Value;
            }
        }

        return offsets;
    }

    private static async Task<Dictionary<int, long>> CommittedAsync(
        IAdminClient admin, string group, string topic, List<int> partitions, CancellationToken cancellationToken)
    {
        var committed = new Dictionary<int, long>();
        IEnumerable<TopicPartitionOffsetError> offsets;
        try
        {
            var results = await admin.ListConsumerGroupOffsetsAsync(
                [new ConsumerGroupTopicPartitions(group, partitions.Select(p => new TopicPartition(topic, p)).ToList())],
                new ListConsumerGroupOffsetsOptions { RequestTimeout = RequestTimeout }).WaitAsync(cancellationToken);
            offsets = results.SelectMany(r => r.Partitions);
        }
        catch (ListConsumerGroupOffsetsException e)
        {
            // A group that never committed can be reported as an error: nothing committed.
            offsets = e.Results.SelectMany(r => r.Partitions ?? []);
        }

        foreach (var partition in offsets)
        {
            if (!partition.Error.IsError && partition.Offset.Value >= 0)
            {
                committed[partition.Partition.Value] = partition.Offset.Value;
            }
        }

        return committed;
    }

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        KafkaLagSnapshot? snapshot;
        Task? refresh = null;
        lock (_gate)
        {
            snapshot = _last;
            if ((snapshot is null || DateTimeOffset.UtcNow - snapshot.TakenAt > GaugeMaxAge) && _refreshing is not { IsCompleted: false })
            {
                _refreshing = refresh = RefreshAsync();
            }
            else if (snapshot is null)
            {
                refresh = _refreshing;
            }
        }

        if (snapshot is null && refresh is not null)
        {
            // The first observation waits briefly for an answer; later ones report the last one
            // and refresh in the background, so a scrape never waits on the cluster again.
            refresh.Wait(RequestTimeout);
            lock (_gate)
            {
                snapshot = _last;
            }
        }

        if (snapshot is null)
        {
            return [];
        }

        return snapshot.Consumers.Where(c => c.TopicExists).Select(c => new Measurement<long>(c.Lag,
            new KeyValuePair<string, object?>("messaging.destination.name", c.Topic),
            new KeyValuePair<string, object?>("messaging.consumer.group.name", c.Group))).ToList();
    }

    private async Task RefreshAsync()
    {
        try
        {
            await ReadAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogLagFailed(_logger, e.Message);
        }
    }

    public void Dispose()
    {
        _meter.Dispose();
        if (_admin.IsValueCreated)
        {
            _admin.Value.Dispose();
        }

        if (_watermarks.IsValueCreated)
        {
            _watermarks.Value.Dispose();
        }
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Warning, Message = "Kafka admin client error {Code}: {Reason}")]
    private static partial void LogAdminError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Reading consumer lag failed: {Reason}")]
    private static partial void LogLagFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Debug, Message = "Watermarks of {Topic}/{Partition} unavailable: {Reason}")]
    private static partial void LogWatermarksFailed(ILogger logger, string topic, int partition, string reason);
}
