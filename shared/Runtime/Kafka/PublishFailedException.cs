using Confluent.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>Some messages of a publish were not acknowledged by the broker.</summary>
public sealed class PublishFailedException(string topic, int failed, int total, Error firstError)
    : Exception($"{failed} of {total} message(s) to '{topic}' were not acknowledged: {firstError.Reason} ({firstError.Code}).")
{
    public string Topic { get; } = topic;
    public int Failed { get; } = failed;
    public int Total { get; } = total;
    public Error FirstError { get; } = firstError;
}
