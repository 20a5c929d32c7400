using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Domain.Storage;

/// <summary>One refused payload as <c>GET /api/ingest-errors</c> lists it.</summary>
public sealed record IngestErrorRow(
    long Id,
    Guid PayloadId,
    DateTimeOffset ReceivedAt,
    string Door,
    string? DeviceId,
    string? Source,
    string Reason,
    int Status,
    IReadOnlyList<ReadingError> Errors,
    string? Excerpt,
    string? Format,
    int SizeBytes,
    DateTimeOffset? ReplayedAt,
    string? ReplayOutcome,
    Guid? ReplayPayloadId);
