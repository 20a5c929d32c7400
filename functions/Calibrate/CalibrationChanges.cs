using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// A new calibration version and the recalibration it starts: the one code path of
/// <c>PUT /api/sensors/{id}/calibration</c> and the calibration file (setting <c>CalibrationFile</c>).
/// </summary>
public sealed class CalibrationChanges(CalibrationStore calibrations, RecalibrationStore jobs, IOptions<PipelineOptions> options, TimeProvider time)
{
    /// <summary>
    /// Stores the sensor's next version and, when it is valid from before the newest reading that
    /// ingest can accept, a job recalculating the readings from <c>validFrom</c> on.
    /// </summary>
    public async Task<(CalibrationVersion Version, RecalibrationJob? Job)> AddAsync(string sensorId, CalibrationInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var version = await calibrations.AddVersionAsync(sensorId, input.ValidFrom, input.Gain, input.Offset, cancellationToken);
        var to = time.GetUtcNow() + options.Value.IngestMaxFutureSkew;
        var job = version.ValidFrom < to
            ? await jobs.CreateAsync(sensorId, version.ValidFrom, to, $"calibration version {version.Version}", version.Version, cancellationToken)
            : null;
        return (version, job);
    }
}
