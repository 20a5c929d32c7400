using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace SensorPipeline.Functions.Runtime.Kafka;

/// <summary>
/// The lag of each Kafka-triggered function running in this process, as its consumer last saw it
/// (cached high watermark − position, no broker round trip): what a low-priority function yields to.
/// </summary>
public sealed class ConsumerLagRegistry
{
    private readonly ConcurrentDictionary<(string Function, int Instance), long> _lag = new();

    /// <summary>What one of the function's consumers (<paramref name="instance"/>) last saw.</summary>
    public void Report(string function, int instance, long lag) => _lag[(function.ToUpperInvariant(), instance)] = lag;

    /// <summary>The function's last reported lag over its consumers here; 0 when it does not run in this process.</summary>
    public long LagOf(string function)
    {
        var key = function.ToUpperInvariant();
        return _lag.Where(kv => kv.Key.Function == key).Sum(kv => kv.Value);
    }

    internal static long LocalLag(IConsumer<byte[], byte[]> consumer)
    {
        long lag = 0;
        foreach (var partition in consumer.Assignment)
        {
            var watermarks = consumer.GetWatermarkOffsets(partition);
            var position = consumer.Position(partition);
            if (watermarks.High.Value >= 0 && position.Value >= 0)
            {
                lag += Math.Max(0, watermarks.High.Value - position.Value);
            }
        }

        return lag;
    }
}

/// <summary>
/// A consumer group's lag on a topic as KEDA computes it: per partition, log end offset minus the
/// committed offset (a partition with no commit counts from its earliest offset).
/// </summary>
public sealed class KafkaLagReader(IOptions<KafkaConnectionOptions> connection) : IDisposable
{
    private readonly Lazy<IAdminClient> _admin = new(() =>
        new AdminClientBuilder(connection.Value.Apply(new AdminClientConfig())).Build());
    private readonly Lazy<IConsumer<byte[], byte[]>> _watermarks = new(() =>
        new ConsumerBuilder<byte[], byte[]>(connection.Value.Apply(new ConsumerConfig { GroupId = "sensorpipeline-lag-reader", EnableAutoCommit = false })).Build());

    public async Task<IReadOnlyList<PartitionLag>> GetLagAsync(string topic, string group, CancellationToken cancellationToken)
    {
        var metadata = await Task.Run(() => _admin.Value.GetMetadata(topic, TimeSpan.FromSeconds(5)), cancellationToken);
        var partitions = metadata.Topics.Single().Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        var committed = (await _admin.Value.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, partitions)]))
            .Single().Partitions.ToDictionary(p => p.TopicPartition, p => p.Offset.Value);
        var result = new List<PartitionLag>(partitions.Count);
        foreach (var partition in partitions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var w = await Task.Run(() => _watermarks.Value.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(5)), cancellationToken);
            result.Add(PartitionLag.Of(partition.Partition.Value, w.Low.Value, w.High.Value, committed.TryGetValue(partition, out var c) && c >= 0 ? c : null));
        }

        return result;
    }

    public async Task<long> GetTotalLagAsync(string topic, string group, CancellationToken cancellationToken) =>
        (await GetLagAsync(topic, group, cancellationToken)).Sum(p => p.Lag);

    public void Dispose()
    {
        if (_admin.IsValueCreated)
        {
            _admin.Value.Dispose();
        }

        if (_watermarks.IsValueCreated)
        {
            _watermarks.Value.Dispose();
        }
    }
}

/// <summary>One partition's offsets and lag.</summary>
public sealed record PartitionLag(int Partition, long LowWatermark, long HighWatermark, long? Committed, long Lag)
{
    /// <summary>
    /// The lag as KEDA's Kafka scaler computes it: log end offset − committed offset; with no
    /// commit, from the earliest offset (the consumers start there, <c>auto.offset.reset=earliest</c>).
    /// The one statement of the formula, for <see cref="KafkaLagReader"/> and <see cref="KafkaLagMonitor"/>.
    /// </summary>
    public static PartitionLag Of(int partition, long low, long high, long? committed) =>
        new(partition, low, high, committed, Math.Max(0, high - (committed ?? low)));
}
