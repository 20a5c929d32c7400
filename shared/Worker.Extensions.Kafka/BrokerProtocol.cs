namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>Security protocol, as librdkafka's <c>security.protocol</c>.</summary>
public enum BrokerProtocol
{
    NotSet = -1,
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}
