namespace SensorPipeline.Runtime.Kafka;

/// <summary>One partition's offsets and lag.</summary>
public sealed record PartitionLag(int Partition, long LowWatermark, long HighWatermark, long? Committed, long Lag)
{
    /// <summary>
    /// The lag as KEDA's Kafka scaler computes it: log end offset − committed offset; with no
    /// commit, from the earliest offset (the consumers start there, <c>auto.offset.reset=earliest</c>).
    /// The one statement of the formula, for <see cref="KafkaLagReader"/>.
    /// </summary>
    public static PartitionLag Of(int partition, long low, long high, long? committed) =>
        new(partition, low, high, committed, Math.Max(0, high - (committed ?? low)));
}
