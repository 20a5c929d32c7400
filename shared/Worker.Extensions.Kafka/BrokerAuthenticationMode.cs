namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>SASL mechanism, as librdkafka's <c>sasl.mechanism</c>.</summary>
public enum BrokerAuthenticationMode
{
    NotSet = -1,
    Gssapi,
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}
