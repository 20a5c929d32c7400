using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// What became of a payload: <see cref="StatusCodes.Status202Accepted"/> (every reading acknowledged
/// by Kafka), 400 (<c>invalid</c>) or 403 (<c>forbidden</c>) with the per-field errors, or 503 (the
/// broker or the database did not answer: nothing was accepted, the sender retries).
/// </summary>
public sealed record PayloadOutcome(int Status, Guid PayloadId, string Format, int Accepted, string? Reason, IReadOnlyList<ReadingError> Errors)
{
    public bool IsAccepted => Status == StatusCodes.Status202Accepted;
}
