namespace SensorPipeline.Domain.Storage;

/// <summary>
/// One sensor in the dashboard's list: its newest raw reading (time, value as sent and its unit, when it arrived), its
/// newest calibrated value, its newest calibration version (0 without parameters) and its device.
/// </summary>
public sealed record ConsoleSensorRow(
    string SensorId,
    DateTimeOffset? LastRecordedAt,
    DateTimeOffset? LastReceivedAt,
    double? LatestRaw,
    double? LatestCalibrated,
    int? LatestCalibratedVersion,
    int CalibrationVersion,
    string? DeviceId,
    string? LatestRawUnit);
