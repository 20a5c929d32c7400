using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Functions.Ingest;

namespace SensorPipeline.Functions.Mqtt;

/// <summary>
/// The MQTT door's one rule set, whichever broker carried the message: the topic is the device's
/// own — <c>devices/{id}/readings</c> (native or legacy payloads) or <c>devices/{id}/frames</c>
/// (frames) — and every sensor is the device's; then the payload takes the same path as over
/// HTTP (<see cref="PayloadIngest"/>) and the outcome says whether Kafka acknowledged it. Refusals
/// go to the error ledger like the HTTP door's.
/// </summary>
public sealed partial class MqttReadingsIngest(PayloadIngest ingest, IngestErrorLedger ledger, TimeProvider time, ILogger<MqttReadingsIngest> logger)
{
    public const string Door = PayloadIngest.MqttDoor;

    public async Task<(MqttIngestOutcome Outcome, string? Reason)> IngestAsync(string deviceId, string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        ArgumentNullException.ThrowIfNull(topic);
        var frames = string.Equals(topic, DeviceRules.FramesTopic(deviceId), StringComparison.Ordinal);
        if (!frames && !string.Equals(topic, DeviceRules.ReadingsTopic(deviceId), StringComparison.Ordinal))
        {
            MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "foreign_topic"));
            LogRefused(logger, deviceId, "foreign_topic", 1);
            var reason = $"Device {deviceId} publishes only to {DeviceRules.ReadingsTopic(deviceId)} or {DeviceRules.FramesTopic(deviceId)}.";
            ledger.Refuse(IngestRefusal.Of(Guid.CreateVersion7(time.GetUtcNow()), time.GetUtcNow(), Door, payload.Span) with
            {
                DeviceId = deviceId,
                Reason = "foreign_topic",
                Status = StatusCodes.Status403Forbidden,
                Errors = [new ReadingError(null, "topic", $"{reason} (was {topic})")],
            });
            return (MqttIngestOutcome.ForeignTopic, reason);
        }

        var outcome = await ingest.IngestAsync(new PayloadSubmission(Door, deviceId, frames ? deviceId : null, null, frames, payload), recordRefusal: true, cancellationToken);
        switch (outcome.Status)
        {
            case StatusCodes.Status202Accepted:
                MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "accepted"));
                return (MqttIngestOutcome.Accepted, null);
            case StatusCodes.Status403Forbidden:
                MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "foreign_sensor"));
                return (MqttIngestOutcome.ForeignSensor, outcome.Errors[0].Message);
            case StatusCodes.Status400BadRequest:
                MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "malformed"));
                var first = outcome.Errors[0];
                return (MqttIngestOutcome.Malformed, $"{outcome.Errors.Count} problem(s); first: {first.Field}: {first.Message}");
            default:
                MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "kafka_unavailable"));
                LogKafkaUnavailable(logger, deviceId, outcome.Errors[0].Message);
                return (MqttIngestOutcome.KafkaUnavailable, "The pipeline's broker did not acknowledge the readings.");
        }
    }

    [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "Refused an MQTT message of device {DeviceId} ({Why}, {Count} problem(s))")]
    private static partial void LogRefused(ILogger logger, string deviceId, string why, int count);

    [LoggerMessage(EventId = 611, Level = LogLevel.Warning, Message = "Kafka did not acknowledge an MQTT message of device {DeviceId} ({Reason}); not acknowledged to the device")]
    private static partial void LogKafkaUnavailable(ILogger logger, string deviceId, string reason);
}
