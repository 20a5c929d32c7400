namespace SensorPipeline.Domain.Storage;

/// <summary>A raw reading with its calibrated value, if it has one yet.</summary>
public sealed record ReadingRow(
    DateTimeOffset RecordedAt,
    double RawValue,
    double? CalibratedValue,
    int? CalibrationVersion,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? CalibratedAt);
