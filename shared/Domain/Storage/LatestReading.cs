namespace SensorPipeline.Domain.Storage;

/// <summary>A sensor's newest calibrated reading.</summary>
public sealed record LatestReading(double Value, DateTimeOffset RecordedAt, int CalibrationVersion);
