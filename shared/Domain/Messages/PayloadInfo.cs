namespace SensorPipeline.Domain.Messages;

/// <summary>
/// What the payload ledger keeps of one payload, carried with its content (capped at
/// <see cref="PayloadContent.MaxStoredBytes"/>) on the first reading message it yielded; the others
/// carry its id (<see cref="RawReadingMessage.PayloadId"/>). The persist function writes the
/// <c>payload</c> row in the same statement as the readings, from whichever message it sees
/// (a reading is never stored without it, and a replay writes nothing twice).
/// </summary>
public sealed record PayloadInfo
{
    /// <summary>Given at the door (UUIDv7: ordered by time).</summary>
    public required Guid Id { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    /// <summary><c>http</c>, <c>http-signed</c>, <c>mqtt</c> or <c>replay</c>.</summary>
    public required string Door { get; init; }
    /// <summary>The device that sent it (signed HTTP, MQTT) or whose payload it is (legacy id, frame route).</summary>
    public string? DeviceId { get; init; }
    /// <summary>Who else: <c>key</c> for a function key, the remote address when nothing else is known.</summary>
    public string? Source { get; init; }
    public required string Format { get; init; }
    public required int DecoderVersion { get; init; }
    public required int SizeBytes { get; init; }
    /// <summary>SHA-256 of the whole payload, lower-case hex.</summary>
    public required string Sha256 { get; init; }
    public required int ReadingCount { get; init; }
    /// <summary>The payload as received, at most <see cref="PayloadContent.MaxStoredBytes"/> bytes (only on the first message).</summary>
    public byte[]? Content { get; init; }
}
