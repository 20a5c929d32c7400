using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Calibration;

/// <summary>
/// Calibrates a batch of readings: each with the version that applies to it
/// (<see cref="CalibrationSelector"/>), <c>gain × celsius(raw, unit) + offset</c>: the raw value is
/// converted to degrees Celsius first (<see cref="ReadingUnits"/>). Pure: the versions are given.
/// </summary>
public static class ReadingCalibrator
{
    /// <summary>
    /// One value per raw reading (duplicates, normal under at-least-once delivery, are dropped),
    /// ordered by raw id so that concurrent writers lock rows in the same order.
    /// </summary>
    public static IReadOnlyList<CalibratedReading> Calibrate(
        IReadOnlyList<CalibrationRequest> requests,
        IReadOnlyDictionary<string, List<CalibrationVersion>> versions)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(versions);
        var unique = requests
            .DistinctBy(r => (r.RawDataId, r.RecordedAt))
            .OrderBy(r => r.RawDataId);
        var result = new List<CalibratedReading>(requests.Count);
        foreach (var r in unique)
        {
            var version = CalibrationSelector.Select(versions.GetValueOrDefault(r.SensorId) ?? [], r.SensorId, r.RecordedAt);
            result.Add(new CalibratedReading(r.RawDataId, r.RecordedAt, r.SensorId, version.Apply(ReadingUnits.ToCelsius(r.RawValue, r.Unit)), version.Version));
        }

        return result;
    }
}
