namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// One Kafka-triggered function as this process sees it: its group's lag (from the cluster), the
/// partitions its consumers here hold, when it last made progress, and whether it is stalled and why.
/// <see cref="PartitionsAssigned"/> is null when the function does not run in this process.
/// </summary>
public sealed record ConsumerHealthState(
    string Function,
    string Group,
    string Topic,
    bool RunsHere,
    int? PartitionsAssigned,
    long? Lag,
    DateTimeOffset? LastBatchAt,
    DateTimeOffset? LastProgressAt,
    bool Stalled,
    double StalledSeconds,
    string? Reason,
    string? LastError);
