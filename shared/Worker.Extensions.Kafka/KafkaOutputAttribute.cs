using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;

namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>
/// Sends a function's return value (one message, or an array of them) to a Kafka topic after the
/// function succeeded. Same name, constructor and properties as the official worker Kafka
/// extension's attribute.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Property)]
public sealed class KafkaOutputAttribute(string brokerList, string topic) : OutputBindingAttribute
{
    /// <summary>Bootstrap servers, usually <c>%KafkaBrokerList%</c>.</summary>
    public string BrokerList { get; set; } = brokerList;

    /// <summary>The topic to produce to.</summary>
    public string Topic { get; } = topic;

    /// <summary>Avro schema of the value (official host only).</summary>
    public string? AvroSchema { get; set; }

    /// <summary>Avro schema of the key (official host only).</summary>
    public string? KeyAvroSchema { get; set; }

    /// <summary>Type of the message key.</summary>
    public KafkaMessageKeyDataType KeyDataType { get; set; } = KafkaMessageKeyDataType.String;

    /// <summary>Largest message in bytes (<c>message.max.bytes</c>).</summary>
    public int MaxMessageBytes { get; set; } = 1_000_000;

    /// <summary>Messages batched in one message set (<c>batch.num.messages</c>).</summary>
    public int BatchSize { get; set; } = 10_000;

    /// <summary>Idempotent producer (<c>enable.idempotence</c>).</summary>
    public bool EnableIdempotence { get; set; }

    /// <summary>Local delivery timeout (<c>message.timeout.ms</c>); 0 is infinite.</summary>
    public int MessageTimeoutMs { get; set; } = 300_000;

    /// <summary>Acknowledgement timeout of a produce request (<c>request.timeout.ms</c>).</summary>
    public int RequestTimeoutMs { get; set; } = 5_000;

    /// <summary>Retries of a failing send (<c>message.send.max.retries</c>).</summary>
    public int MaxRetries { get; set; } = int.MaxValue;

    /// <summary>SASL mechanism (<c>sasl.mechanism</c>).</summary>
    public BrokerAuthenticationMode AuthenticationMode { get; set; } = BrokerAuthenticationMode.NotSet;

    /// <summary>SASL user name.</summary>
    public string? Username { get; set; }

    /// <summary>SASL password.</summary>
    public string? Password { get; set; }

    /// <summary>Security protocol.</summary>
    public BrokerProtocol Protocol { get; set; } = BrokerProtocol.NotSet;

    /// <summary>Client private key, PEM file.</summary>
    public string? SslKeyLocation { get; set; }

    /// <summary>CA certificate file that verifies the broker.</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>Client certificate file.</summary>
    public string? SslCertificateLocation { get; set; }

    /// <summary>Password of the client key.</summary>
    public string? SslKeyPassword { get; set; }

    /// <summary>Time to wait for more messages before sending a batch (<c>linger.ms</c>).</summary>
    public int LingerMs { get; set; } = 5;

    /// <summary>Schema registry URL (official host only).</summary>
    public string? SchemaRegistryUrl { get; set; }

    /// <summary>Schema registry user name (official host only).</summary>
    public string? SchemaRegistryUsername { get; set; }

    /// <summary>Schema registry password (official host only).</summary>
    public string? SchemaRegistryPassword { get; set; }

    /// <summary>OAuth bearer method.</summary>
    public OAuthBearerMethod OAuthBearerMethod { get; set; }

    /// <summary>OAuth bearer client id (OIDC).</summary>
    public string? OAuthBearerClientId { get; set; }

    /// <summary>OAuth bearer client secret (OIDC).</summary>
    public string? OAuthBearerClientSecret { get; set; }

    /// <summary>OAuth bearer scope (OIDC).</summary>
    public string? OAuthBearerScope { get; set; }

    /// <summary>OAuth bearer token endpoint (OIDC).</summary>
    public string? OAuthBearerTokenEndpointUrl { get; set; }

    /// <summary>OAuth bearer extensions.</summary>
    public string? OAuthBearerExtensions { get; set; }
}
