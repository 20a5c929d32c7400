namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>
/// What a decoder checks a payload against: the limits (values in degrees Celsius after the unit's
/// conversion), the receive time, and the device the door or route names (frames need it).
/// </summary>
public sealed record DecodeContext(ReadingLimits Limits, DateTimeOffset Now, string? DeviceId = null);
