namespace SensorPipeline.Functions.Runtime.Kafka;

/// <summary>Lag of one function's consumer group on its topic (partitions: <see cref="PartitionLag"/>, as <see cref="KafkaLagReader"/> reports them).</summary>
public sealed record ConsumerLag(string Function, string Group, string Topic, bool TopicExists, long Lag, IReadOnlyList<PartitionLag> Partitions);

/// <summary>Messages in a dead-letter topic (high − low watermark over its partitions).</summary>
public sealed record DeadLetterCount(string Topic, bool Exists, long Messages);

/// <summary>What the cluster says about every Kafka-triggered function of the app, at one moment.</summary>
public sealed record KafkaLagSnapshot(DateTimeOffset TakenAt, IReadOnlyList<ConsumerLag> Consumers, IReadOnlyList<DeadLetterCount> DeadLetters);
