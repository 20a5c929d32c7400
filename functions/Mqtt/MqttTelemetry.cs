using SensorPipeline.Domain.Messages;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Mqtt;

/// <summary>The MQTT door's instruments.</summary>
public static class MqttTelemetry
{
    public static readonly System.Diagnostics.Metrics.Counter<long> Messages = PipelineTelemetry.Meter.CreateCounter<long>(
        "sensorpipeline.mqtt.messages", "{message}", "MQTT messages by outcome (accepted, malformed, foreign_topic, foreign_sensor, kafka_unavailable)");

    public static readonly System.Diagnostics.Metrics.Counter<long> Connections = PipelineTelemetry.Meter.CreateCounter<long>(
        "sensorpipeline.mqtt.connections", "{connection}", "MQTT connection attempts by outcome");

    public static readonly System.Diagnostics.Metrics.Counter<long> QueueOverflow = PipelineTelemetry.Meter.CreateCounter<long>(
        "sensorpipeline.mqtt.queue_overflow", "{message}", "Messages the embedded broker dropped from a full client queue (never silent)");
}
