namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>Type of a message key.</summary>
public enum KafkaMessageKeyDataType
{
    Int,
    Long,
    String,
    Binary,
}
