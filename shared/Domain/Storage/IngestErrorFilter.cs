namespace SensorPipeline.Domain.Storage;

/// <summary>What <c>GET /api/ingest-errors</c> asks for: newest first, a page after <see cref="Before"/> (an id).</summary>
public sealed record IngestErrorFilter(string? DeviceId, string? Reason, DateTimeOffset? From, DateTimeOffset? To, long? Before, int Limit);
