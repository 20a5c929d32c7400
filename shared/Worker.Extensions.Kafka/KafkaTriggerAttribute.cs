using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;

namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>
/// Runs a function for messages of a Kafka topic: one message per invocation, or with
/// <see cref="IsBatched"/> an array of them. Same name, constructor and properties as the official
/// worker Kafka extension's attribute, so the SDK writes a <c>kafkaTrigger</c> binding the official
/// Functions host reads. <c>%Name%</c> values resolve from app settings.
/// </summary>
[BindingCapabilities(KnownBindingCapabilities.FunctionLevelRetry)]
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class KafkaTriggerAttribute(string brokerList, string topic) : TriggerBindingAttribute, ISupportCardinality
{
    /// <summary>Bootstrap servers, usually <c>%KafkaBrokerList%</c>.</summary>
    public string BrokerList { get; } = brokerList;

    /// <summary>The topic to consume.</summary>
    public string Topic { get; } = topic;

    /// <summary>Consumer group; defaults to the function's name in our host.</summary>
    public string? ConsumerGroup { get; set; }

    /// <summary>Avro schema of the value (official host only).</summary>
    public string? AvroSchema { get; set; }

    /// <summary>Avro schema of the key (official host only).</summary>
    public string? KeyAvroSchema { get; set; }

    /// <summary>Type of the message key.</summary>
    public KafkaMessageKeyDataType KeyDataType { get; set; } = KafkaMessageKeyDataType.String;

    /// <summary>SASL mechanism (<c>sasl.mechanism</c>).</summary>
    public BrokerAuthenticationMode AuthenticationMode { get; set; } = BrokerAuthenticationMode.NotSet;

    /// <summary>SASL user name (<c>sasl.username</c>).</summary>
    public string? Username { get; set; }

    /// <summary>SASL password (<c>sasl.password</c>).</summary>
    public string? Password { get; set; }

    /// <summary>Security protocol (<c>security.protocol</c>).</summary>
    public BrokerProtocol Protocol { get; set; } = BrokerProtocol.NotSet;

    /// <summary>Client private key, PEM file (<c>ssl.key.location</c>).</summary>
    public string? SslKeyLocation { get; set; }

    /// <summary>CA certificate file that verifies the broker (<c>ssl.ca.location</c>).</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>Client certificate file (<c>ssl.certificate.location</c>).</summary>
    public string? SslCertificateLocation { get; set; }

    /// <summary>Password of the client key (<c>ssl.key.password</c>).</summary>
    public string? SslKeyPassword { get; set; }

    /// <summary>Messages of lag one instance is expected to handle (target-based scaling; KEDA's lagThreshold).</summary>
    public long LagThreshold { get; set; } = 1000;

    /// <summary>Schema registry URL (official host only).</summary>
    public string? SchemaRegistryUrl { get; set; }

    /// <summary>Schema registry user name (official host only).</summary>
    public string? SchemaRegistryUsername { get; set; }

    /// <summary>Schema registry password (official host only).</summary>
    public string? SchemaRegistryPassword { get; set; }

    /// <summary>OAuth bearer method (<c>sasl.oauthbearer.method</c>).</summary>
    public OAuthBearerMethod OAuthBearerMethod { get; set; }

    /// <summary>OAuth bearer client id (OIDC).</summary>
    public string? OAuthBearerClientId { get; set; }

    /// <summary>OAuth bearer client secret (OIDC).</summary>
    public string? OAuthBearerClientSecret { get; set; }

    /// <summary>OAuth bearer scope (OIDC).</summary>
    public string? OAuthBearerScope { get; set; }

    /// <summary>OAuth bearer token endpoint (OIDC).</summary>
    public string? OAuthBearerTokenEndpointUrl { get; set; }

    /// <summary>OAuth bearer extensions, <c>key=value</c> pairs separated by commas.</summary>
    public string? OAuthBearerExtensions { get; set; }

    /// <summary>
    /// An array of messages per invocation instead of one. The SDK's generator needs the
    /// <see cref="DefaultValueAttribute"/> to read the cardinality.
    /// </summary>
    [DefaultValue(false)]
    public bool IsBatched { get; set; }

    Cardinality ISupportCardinality.Cardinality
    {
        get => IsBatched ? Cardinality.Many : Cardinality.One;
        set => IsBatched = value == Cardinality.Many;
    }
}
