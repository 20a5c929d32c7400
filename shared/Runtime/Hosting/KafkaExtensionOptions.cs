using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Runtime.Hosting;

public sealed class KafkaExtensionOptions
{
    /// <summary>Most messages handed to a batched function at once.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>
    /// Consumers (each a consume loop on its own thread, in the same group) per Kafka function in
    /// one process: batches of different partitions are processed in parallel. More than the
    /// topic's partitions leaves some idle.
    /// </summary>
    [Range(1, 64)]
    public int ConsumersPerFunction { get; set; } = 1;

    /// <summary>How long to keep filling a batch once its first message has arrived.</summary>
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Retries of a failing invocation before its messages are dead-lettered.</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 5;

    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Dead-letter topic of topic T is T + this suffix.</summary>
    [Required]
    public string DeadLetterSuffix { get; set; } = ".deadletter";

    /// <summary>librdkafka <c>fetch.wait.max.ms</c>: how long a fetch with no data waits.</summary>
    [Range(1, 10_000)]
    public int FetchWaitMaxMs { get; set; } = 50;

    /// <summary>librdkafka <c>auto.commit.interval.ms</c>: how often stored offsets are committed.</summary>
    [Range(100, 60_000)]
    public int AutoCommitIntervalMs { get; set; } = 1000;

    /// <summary>Where a consumer group with no committed offset starts: earliest or latest.</summary>
    [RegularExpression("^(earliest|latest)$")]
    public string AutoOffsetReset { get; set; } = "earliest";

    /// <summary>Producer <c>linger.ms</c>.</summary>
    [Range(0, 1000)]
    public int LingerMs { get; set; } = 5;

    /// <summary>Producer <c>message.timeout.ms</c>: after it an undelivered message is reported failed.</summary>
    [Range(1000, 900_000)]
    public int MessageTimeoutMs { get; set; } = 15_000;

    /// <summary>Producer <c>compression.type</c>.</summary>
    public string CompressionType { get; set; } = "lz4";

    /// <summary>Per function: yield to other functions' lag, and cap the rate (see <see cref="KafkaFunctionThrottle"/>).</summary>
    public Dictionary<string, KafkaFunctionThrottle> Throttle { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
