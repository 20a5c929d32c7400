namespace SensorPipeline.Runtime.Kafka;

/// <summary>The start is refused: the cluster does not support the configured group protocol.</summary>
public sealed class KafkaGroupProtocolUnsupportedException(string message) : InvalidOperationException(message);
