namespace SensorPipeline.Runtime.Kafka;

/// <summary>A dead-lettered message, as read back from its dead-letter topic.</summary>
public sealed record DeadLetter(
    string Topic,
    int Partition,
    long Offset,
    string? Key,
    string Value,
    string Reason,
    string Function,
    string OriginalTopic,
    string Attempts,
    string DeadLetteredAt);
