using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Ingest;

/// <summary>
/// A refused payload, for the ledgers: its <c>payload</c> row (accepted = false) and its
/// <c>ingest_error</c> row with the same per-field errors the door answered with.
/// </summary>
public sealed record IngestRefusal
{
    public required Guid PayloadId { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    public required string Door { get; init; }
    public string? DeviceId { get; init; }
    public string? Source { get; init; }
    /// <summary>The decoder that read it; null when it was refused before decoding (401, 413).</summary>
    public string? Format { get; init; }
    public int? DecoderVersion { get; init; }
    /// <summary>The whole payload's size (the Content-Length when it was not read).</summary>
    public required int SizeBytes { get; init; }
    public string? Sha256 { get; init; }
    /// <summary>At most <see cref="PayloadContent.MaxStoredBytes"/>; null when it was not read.</summary>
    public byte[]? Content { get; init; }
    /// <summary><c>invalid</c>, <c>unauthorized</c>, <c>forbidden</c>, <c>too_large</c>, <c>foreign_topic</c>.</summary>
    public required string Reason { get; init; }
    public required int Status { get; init; }
    public required IReadOnlyList<ReadingError> Errors { get; init; }

    /// <summary>A refusal of <paramref name="payload"/> as read (content capped, hash of the whole).</summary>
    public static IngestRefusal Of(Guid id, DateTimeOffset receivedAt, string door, ReadOnlySpan<byte> payload) => new()
    {
        PayloadId = id,
        ReceivedAt = receivedAt,
        Door = door,
        SizeBytes = payload.Length,
        Sha256 = PayloadContent.Sha256Hex(payload),
        Content = PayloadContent.Capped(payload),
        Reason = "",
        Status = 0,
        Errors = [],
    };
}
