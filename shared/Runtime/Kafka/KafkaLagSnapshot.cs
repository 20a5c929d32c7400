namespace SensorPipeline.Runtime.Kafka;

/// <summary>What the cluster says about every Kafka-triggered function of the app, at one moment.</summary>
public sealed record KafkaLagSnapshot(DateTimeOffset TakenAt, IReadOnlyList<ConsumerLag> Consumers, IReadOnlyList<DeadLetterCount> DeadLetters);
