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

/// <summary>Chooses the version that applies to a reading.</summary>
public static class CalibrationSelector
{
    /// <summary>
    /// The newest version whose <c>ValidFrom</c> is at or before <paramref name="recordedAt"/>, or
    /// the identity (version 0) when none is.
    /// </summary>
    public static CalibrationVersion Select(IReadOnlyList<CalibrationVersion> versions, string sensorId, DateTimeOffset recordedAt)
    {
        ArgumentNullException.ThrowIfNull(versions);
        CalibrationVersion? best = null;
        foreach (var v in versions)
        {
            if (v.ValidFrom <= recordedAt && (best is null || v.Version > best.Version))
            {
                best = v;
            }
        }

        return best ?? CalibrationVersion.Identity(sensorId);
    }
}
