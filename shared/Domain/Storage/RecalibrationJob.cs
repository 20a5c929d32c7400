namespace SensorPipeline.Domain.Storage;

/// <summary>The state of a recalibration job, as stored, plus its live calibrated count.</summary>
public sealed record RecalibrationJob(
    long Id,
    string? SensorId,
    DateTimeOffset From,
    DateTimeOffset To,
    string Reason,
    int? CalibrationVersion,
    string State,
    long Total,
    long Published,
    string? CursorSensorId,
    DateTimeOffset? CursorRecordedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt)
{
    public const string Running = "running";
    public const string Draining = "draining";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
}
