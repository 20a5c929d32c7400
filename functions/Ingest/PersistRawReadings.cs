using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Runtime;
using SensorPipeline.Functions.Runtime.Kafka;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Stores raw readings (idempotently, raw is immutable) and, only after that commit, publishes
/// every reading of the batch that has no calibrated value for realtime calibration.
/// </summary>
public sealed class PersistRawReadings(RawReadingStore store, KafkaPublisher publisher, IOptions<PipelineOptions> options)
{
    [Function(nameof(PersistRawReadings))]
    public async Task RunAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%RawTopic%", ConsumerGroup = "%PersistRawGroup%", IsBatched = true)]
        IReadOnlyList<RawReadingMessage> batch,
        CancellationToken cancellationToken)
    {
        var toCalibrate = await store.InsertAsync(batch, cancellationToken);
        PipelineTelemetry.ReadingsPersisted.Add(batch.Count);
        await publisher.PublishAsync(options.Value.RealtimeTopic, ToMessages(toCalibrate), cancellationToken);
    }

    internal static OutgoingMessage[] ToMessages(IReadOnlyList<CalibrationRequest> requests)
    {
        var messages = new OutgoingMessage[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            messages[i] = new OutgoingMessage(
                requests[i].RawDataId.ToString(CultureInfo.InvariantCulture),
                JsonSerializer.SerializeToUtf8Bytes(requests[i], PipelineJsonContext.Default.CalibrationRequest));
        }

        return messages;
    }
}
