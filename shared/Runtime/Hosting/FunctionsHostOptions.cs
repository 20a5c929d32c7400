using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Functions.Runtime.Hosting;

/// <summary>
/// host.json, in Azure Functions' shape, bound from the <c>AzureFunctionsJobHost</c> section so
/// that environment variables such as <c>AzureFunctionsJobHost__functions__0</c> override it.
/// </summary>
public sealed class FunctionsHostOptions
{
    public const string SectionName = "AzureFunctionsJobHost";

    /// <summary>Allow-list of functions to run; empty runs all of them.</summary>
    public List<string> Functions { get; set; } = [];

    [Required]
    public HttpHostOptions Http { get; set; } = new();

    [Required]
    public ExtensionsOptions Extensions { get; set; } = new();

    /// <summary>Grace period for in-flight work at shutdown.</summary>
    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class HttpHostOptions
{
    /// <summary>Prefix of every HTTP function's route; Azure's default is <c>api</c>.</summary>
    public string RoutePrefix { get; set; } = "api";

    /// <summary>Largest request body accepted, in bytes (413 beyond it).</summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxRequestBodySize { get; set; } = 4 * 1024 * 1024;
}

public sealed class ExtensionsOptions
{
    [Required]
    public KafkaExtensionOptions Kafka { get; set; } = new();
}

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

/// <summary>
/// Lets a low-priority Kafka function (a backfill) give way in one process: it pauses its
/// partitions while any function in <see cref="YieldTo"/> running in the same process has more than
/// <see cref="YieldLagThreshold"/> messages of lag, and processes at most
/// <see cref="MaxMessagesPerSecond"/> (0: no cap).
/// </summary>
public sealed class KafkaFunctionThrottle
{
    public List<string> YieldTo { get; set; } = [];

    [Range(0, long.MaxValue)]
    public long YieldLagThreshold { get; set; } = 1000;

    [Range(0, int.MaxValue)]
    public int MaxMessagesPerSecond { get; set; }
}
