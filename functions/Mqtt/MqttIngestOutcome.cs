using SensorPipeline.Domain.Messages;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Mqtt;

/// <summary>What became of one MQTT message.</summary>
public enum MqttIngestOutcome
{
    /// <summary>Every reading was acknowledged by Kafka: acknowledge the message.</summary>
    Accepted,
    /// <summary>Not the device's own topic (<c>devices/{its id}/readings</c>): refused, nothing stored.</summary>
    ForeignTopic,
    /// <summary>Not the reading JSON, or an invalid reading: refused, nothing stored.</summary>
    Malformed,
    /// <summary>A reading of a sensor that is not the device's: refused, nothing stored.</summary>
    ForeignSensor,
    /// <summary>Kafka did not acknowledge: do not acknowledge the message (it is to be delivered again).</summary>
    KafkaUnavailable,
}
