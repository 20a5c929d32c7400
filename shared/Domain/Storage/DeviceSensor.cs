namespace SensorPipeline.Domain.Storage;

/// <summary>A sensor of a device.</summary>
public sealed record DeviceSensor(string SensorId, DateTimeOffset FirstSeenAt, DateTimeOffset LastSeenAt);
