namespace SensorPipeline.Runtime.Kafka;

/// <summary>A message to publish: key (may be null), value bytes and optional headers.</summary>
public readonly record struct OutgoingMessage(
    string? Key,
    ReadOnlyMemory<byte> Value,
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null,
    byte[]? RawKey = null);
