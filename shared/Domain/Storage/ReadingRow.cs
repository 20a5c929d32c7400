namespace SensorPipeline.Domain.Storage;

/// <summary>
/// A raw reading as sent (<see cref="RawValue"/> in <see cref="Unit"/>, see <c>ReadingUnits</c>)
/// with its calibrated value in degrees Celsius, if it has one yet, and the payload it came in.
/// </summary>
public sealed record ReadingRow(
    DateTimeOffset RecordedAt,
    double RawValue,
    string Unit,
    double? CalibratedValue,
    int? CalibrationVersion,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? CalibratedAt,
    Guid? PayloadId);
