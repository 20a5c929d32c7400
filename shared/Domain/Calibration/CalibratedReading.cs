namespace SensorPipeline.Domain.Calibration;

/// <summary>One calibrated value, ready to be written: the raw reading's key, the value and the version that made it.</summary>
public readonly record struct CalibratedReading(long RawDataId, DateTimeOffset RecordedAt, string SensorId, double Value, int Version);
