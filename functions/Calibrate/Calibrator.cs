using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// Writes one calibrated value per raw reading; shared by both calibration functions: loads the
/// sensors' versions, computes the values (<see cref="ReadingCalibrator"/>), writes them.
/// </summary>
public sealed class Calibrator(CalibrationStore store, TimeProvider time)
{
    /// <param name="batch">The readings to calibrate.</param>
    /// <param name="expectNew">True on the realtime topic, whose readings are usually not calibrated yet.</param>
    /// <param name="cancellationToken">Cancels the database calls.</param>
    public async Task CalibrateAsync(IReadOnlyList<CalibrationRequest> batch, bool expectNew, CancellationToken cancellationToken)
    {
        using var activity = PipelineTracing.Calibrate.StartActivity("calibrate");
        activity?.SetTag("messaging.batch.message_count", batch.Count);
        var versions = await store.LoadVersionsAsync(batch.Select(r => r.SensorId), cancellationToken);
        await store.WriteAsync(ReadingCalibrator.Calibrate(batch, versions), expectNew, cancellationToken);
        PipelineTelemetry.RecordCalibrated(batch, time.GetUtcNow(), realtime: expectNew);
    }
}
