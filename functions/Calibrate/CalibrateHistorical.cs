using SensorPipeline.Domain.Messages;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>Backfill after a parameter change: the same code on the historical topic and group.</summary>
public sealed class CalibrateHistorical(Calibrator calibrator)
{
    [Function(nameof(CalibrateHistorical))]
    public Task RunAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%HistoricalTopic%", ConsumerGroup = "%HistoricalGroup%", IsBatched = true, LagThreshold = 8000)]
        CalibrationRequest[] batch,
        CancellationToken cancellationToken) => calibrator.CalibrateAsync(batch, expectNew: false, cancellationToken);
}
