namespace SensorPipeline.Domain.Storage;

/// <summary>Refusals in the error ledger by reason, and those counted but not stored (over a source's rate).</summary>
public sealed record IngestErrorCounts(IReadOnlyList<ReasonCount> ByReason, long NotStored);
