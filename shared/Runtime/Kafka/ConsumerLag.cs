namespace SensorPipeline.Runtime.Kafka;

/// <summary>Lag of one function's consumer group on its topic (partitions: <see cref="PartitionLag"/>, as <see cref="KafkaLagReader"/> reports them).</summary>
public sealed record ConsumerLag(string Function, string Group, string Topic, bool TopicExists, long Lag, IReadOnlyList<PartitionLag> Partitions);
