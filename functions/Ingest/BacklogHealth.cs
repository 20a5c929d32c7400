namespace SensorPipeline.Functions.Ingest;

/// <summary>The raw backlog where ingest runs (<see cref="Measured"/> false elsewhere).</summary>
public sealed record BacklogHealth(bool Measured, long Backlog, long Limit, DateTimeOffset? OverLimitSince, DateTimeOffset? LastShrankAt, bool Stalled, string? Reason);
