using Confluent.Kafka;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// Lag in seconds: now − the timestamp of the oldest message a group has not consumed, read with a
/// short-lived consumer (no group membership, never commits) at each lagging partition's committed
/// offset — one message per partition, at most <see cref="ReadBudget"/> per read, the answer kept
/// for <see cref="CacheFor"/> so a dashboard polling every second costs one read per group per few
/// seconds. The message timestamp is the producer's (ingest's publish time), so this is how long
/// the oldest waiting reading has been waiting.
/// </summary>
public sealed partial class OldestMessageAge(IOptions<KafkaConnectionOptions> connection, TimeProvider time, ILogger<OldestMessageAge> logger)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan ReadBudget = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (DateTimeOffset At, DateTimeOffset? Oldest)> _cache = new(StringComparer.Ordinal);

    /// <summary>Seconds the oldest unconsumed message of <paramref name="lag"/> has waited; 0 with no lag; null when it could not be read.</summary>
    public async Task<double?> SecondsAsync(ConsumerLag lag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lag);
        if (lag.Lag == 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        var key = lag.Group + "\n" + lag.Topic;
        DateTimeOffset? oldest;
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out var cached) && now - cached.At < CacheFor)
            {
                return cached.Oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : null;
            }
        }

        try
        {
            oldest = await Task.Run(() => Read(lag, cancellationToken), cancellationToken);
        }
        catch (KafkaException e)
        {
            LogReadFailed(logger, lag.Topic, lag.Group, e.Error.Reason);
            oldest = null;
        }

        lock (_gate)
        {
            _cache[key] = (now, oldest);
        }

        return oldest is { } found ? Math.Max(0, (now - found).TotalSeconds) : null;
    }

    private DateTimeOffset? Read(ConsumerLag lag, CancellationToken cancellationToken)
    {
        var start = lag.Partitions.Where(p => p.Lag > 0)
            .Select(p => new TopicPartitionOffset(lag.Topic, p.Partition, p.Committed ?? p.LowWatermark)).ToList();
        if (start.Count == 0)
        {
            return null;
        }

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(connection.Value.Apply(new ConsumerConfig
        {
            ClientId = "sensorpipeline-lag-age",
            GroupId = "sensorpipeline-lag-age",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            FetchWaitMaxMs = 20,
        })).Build();
        consumer.Assign(start);
        var waiting = start.Select(p => p.Partition.Value).ToHashSet();
        DateTimeOffset? oldest = null;
        var deadline = DateTime.UtcNow + ReadBudget;
        while (waiting.Count > 0 && DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null || result.IsPartitionEOF || !waiting.Remove(result.Partition.Value))
            {
                continue;
            }

            consumer.Pause([result.TopicPartition]);
            if (result.Message.Timestamp.Type != TimestampType.NotAvailable)
            {
                var at = result.Message.Timestamp.UtcDateTime;
                oldest = oldest is null || at < oldest ? new DateTimeOffset(at, TimeSpan.Zero) : oldest;
            }
        }

        consumer.Close();
        return oldest;
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Debug, Message = "Reading the oldest unconsumed message of {Topic} for {Group} failed: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string topic, string group, string reason);
}
