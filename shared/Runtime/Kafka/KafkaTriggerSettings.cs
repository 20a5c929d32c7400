using Confluent.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>Everything one Kafka trigger's loop needs, resolved from attribute, settings and host.json.</summary>
internal sealed record KafkaTriggerSettings(
    string Topic,
    string DeadLetterTopic,
    ConsumerConfig ConsumerConfig,
    int MaxBatchSize,
    TimeSpan MaxBatchWait,
    int MaxRetries,
    TimeSpan RetryInitialDelay,
    TimeSpan RetryMaxDelay);
