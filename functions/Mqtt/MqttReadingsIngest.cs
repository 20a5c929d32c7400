using System.Text.Json;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Mqtt;

/// <summary>
/// The MQTT door's one rule set, whichever broker carried the message: the topic is the device's
/// own, the payload is the HTTP reading JSON (one or an array), every sensor is the device's; then
/// the readings go to <c>temperature.raw</c> and the outcome says whether Kafka acknowledged them.
/// </summary>
public sealed partial class MqttReadingsIngest(
    KafkaPublisher publisher, DeviceRegistry registry, IOptions<PipelineOptions> options, TimeProvider time, ILogger<MqttReadingsIngest> logger)
{
    public async Task<(MqttIngestOutcome Outcome, string? Reason)> IngestAsync(string deviceId, string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        ArgumentNullException.ThrowIfNull(topic);
        if (!string.Equals(topic, DeviceRules.ReadingsTopic(deviceId), StringComparison.Ordinal))
        {
            MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "foreign_topic"));
            LogRefused(logger, deviceId, "foreign_topic", 1);
            return (MqttIngestOutcome.ForeignTopic, $"Device {deviceId} publishes only to {DeviceRules.ReadingsTopic(deviceId)}.");
        }

        var o = options.Value;
        var limits = new ReadingLimits(o.IngestMaxReadingsPerRequest, o.IngestMinValue, o.IngestMaxValue, o.IngestMaxFutureSkew, o.IngestMaxAge);
        var (readings, errors) = ReadingRequestParser.Parse(payload, limits, time.GetUtcNow());
        if (errors.Count > 0)
        {
            MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "malformed"));
            var first = errors[0];
            LogRefused(logger, deviceId, "malformed", errors.Count);
            return (MqttIngestOutcome.Malformed, $"{errors.Count} problem(s); first: {first.Field}: {first.Message}");
        }

        if (readings.FirstOrDefault(r => !DeviceRules.MayWrite(deviceId, r.SensorId)) is { } foreign)
        {
            MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "foreign_sensor"));
            LogRefused(logger, deviceId, "foreign_sensor", 1);
            return (MqttIngestOutcome.ForeignSensor, $"Device {deviceId} writes only the sensor '{deviceId}' or '{deviceId}:...', not '{foreign.SensorId}'.");
        }

        var messages = new OutgoingMessage[readings.Count];
        for (var i = 0; i < readings.Count; i++)
        {
            messages[i] = new OutgoingMessage(readings[i].SensorId, JsonSerializer.SerializeToUtf8Bytes(readings[i], PipelineJsonContext.Default.RawReadingMessage), null);
        }

        try
        {
            await publisher.PublishAsync(o.RawTopic, messages, cancellationToken);
        }
        catch (PublishFailedException e)
        {
            MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "kafka_unavailable"));
            LogKafkaUnavailable(logger, deviceId, e.FirstError.Reason);
            return (MqttIngestOutcome.KafkaUnavailable, "The pipeline's broker did not acknowledge the readings.");
        }

        MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "accepted"));
        PipelineTelemetry.ReadingsAccepted.Add(readings.Count);
        await registry.RecordSeenAsync(deviceId, readings.Select(r => r.SensorId), cancellationToken);
        return (MqttIngestOutcome.Accepted, null);
    }

    [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "Refused an MQTT message of device {DeviceId} ({Why}, {Count} problem(s))")]
    private static partial void LogRefused(ILogger logger, string deviceId, string why, int count);

    [LoggerMessage(EventId = 611, Level = LogLevel.Warning, Message = "Kafka did not acknowledge an MQTT message of device {DeviceId} ({Reason}); not acknowledged to the device")]
    private static partial void LogKafkaUnavailable(ILogger logger, string deviceId, string reason);
}
