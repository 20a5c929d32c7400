namespace SensorPipeline.Domain.Calibration;

/// <summary>
/// One version of a sensor's linear calibration, <c>value = gain × raw + offset</c>, valid for
/// readings recorded at or after <see cref="ValidFrom"/>. Version 0 is the identity.
/// </summary>
public sealed record CalibrationVersion(string SensorId, int Version, DateTimeOffset ValidFrom, double Gain, double Offset)
{
    public static CalibrationVersion Identity(string sensorId) => new(sensorId, 0, DateTimeOffset.MinValue, 1.0, 0.0);

    public double Apply(double raw) => Gain * raw + Offset;
}
