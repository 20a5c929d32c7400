namespace SensorPipeline.Domain.Storage;

/// <summary>One sensor as the read API shows it.</summary>
public sealed record SensorSummary(
    string SensorId,
    long Readings,
    int CalibrationVersion,
    LatestReading? Latest);
