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

/// <summary>Security protocol, as librdkafka's <c>security.protocol</c>.</summary>
public enum BrokerProtocol
{
    NotSet = -1,
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

/// <summary>How an OAuth bearer token is obtained.</summary>
public enum OAuthBearerMethod
{
    Default,
    Oidc,
}

/// <summary>Type of a message key.</summary>
public enum KafkaMessageKeyDataType
{
    Int,
    Long,
    String,
    Binary,
}
