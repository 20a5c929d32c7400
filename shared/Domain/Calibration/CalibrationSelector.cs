namespace SensorPipeline.Domain.Calibration;

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
