using SensorPipeline.Domain.Messages;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>New readings: bound to the realtime topic, with its own consumer group and lag.</summary>
public sealed class CalibrateRealtime(Calibrator calibrator)
{
    [Function(nameof(CalibrateRealtime))]
    public Task RunAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%RealtimeTopic%", ConsumerGroup = "%RealtimeGroup%", IsBatched = true, LagThreshold = 2000)]
        CalibrationRequest[] batch,
        CancellationToken cancellationToken) => calibrator.CalibrateAsync(batch, expectNew: true, cancellationToken);
}
