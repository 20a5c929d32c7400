namespace SensorPipeline.Functions.Runtime;

/// <summary>What a timer function is told about its invocation.</summary>
public sealed record TimerInfo(
    DateTimeOffset ScheduledTime,
    DateTimeOffset? LastRun,
    DateTimeOffset Next,
    bool IsPastDue);

/// <summary>A Kafka message with its metadata, for functions that need headers or keys.</summary>
public sealed record KafkaRecord<T>(
    string Topic,
    int Partition,
    long Offset,
    DateTimeOffset Timestamp,
    string? Key,
    T Value,
    IReadOnlyDictionary<string, string> Headers);

/// <summary>Context of one invocation, bindable as a parameter.</summary>
public sealed class FunctionContext(string functionName, string invocationId)
{
    public string FunctionName { get; } = functionName;
    public string InvocationId { get; } = invocationId;
}

/// <summary>
/// Thrown by a function when something it depends on (a database, a broker) is unavailable: the
/// runtime then waits and retries without counting attempts, and never dead-letters because of it.
/// </summary>
public sealed class DependencyUnavailableException(string message, Exception? inner = null)
    : Exception(message, inner);
