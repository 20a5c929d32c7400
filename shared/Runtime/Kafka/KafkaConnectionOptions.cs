using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>How to reach the Kafka cluster; flat settings, as in Azure Functions app settings.</summary>
public sealed class KafkaConnectionOptions
{
    /// <summary>Bootstrap servers, e.g. <c>kafka-0:9092,kafka-1:9092</c>.</summary>
    [Required(ErrorMessage = "KafkaBrokerList is required (comma-separated host:port list).")]
    [ConfigurationKeyName("KafkaBrokerList")]
    public string BrokerList { get; set; } = "";

    /// <summary><c>classic</c> (Kafka before 4.0; cooperative-sticky assignor) or <c>consumer</c> (KIP-848).</summary>
    [ConfigurationKeyName("KafkaGroupProtocol")]
    [RegularExpression("^(classic|consumer)$", ErrorMessage = "KafkaGroupProtocol must be 'classic' or 'consumer'.")]
    public string GroupProtocol { get; set; } = "classic";

    [ConfigurationKeyName("KafkaSecurityProtocol")]
    public string? SecurityProtocol { get; set; }

    [ConfigurationKeyName("KafkaSaslMechanism")]
    public string? SaslMechanism { get; set; }

    [ConfigurationKeyName("KafkaSaslUsername")]
    public string? SaslUsername { get; set; }

    [ConfigurationKeyName("KafkaSaslPassword")]
    public string? SaslPassword { get; set; }

    /// <summary>Applies the connection settings to any librdkafka client configuration.</summary>
    public T Apply<T>(T config) where T : ClientConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        config.BootstrapServers ??= BrokerList;
        if (!string.IsNullOrEmpty(SecurityProtocol))
        {
            config.SecurityProtocol = Enum.Parse<SecurityProtocol>(SecurityProtocol.Replace("_", "", StringComparison.Ordinal), ignoreCase: true);
        }

        if (!string.IsNullOrEmpty(SaslMechanism))
        {
            config.SaslMechanism = Enum.Parse<SaslMechanism>(SaslMechanism.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
        }

        if (!string.IsNullOrEmpty(SaslUsername))
        {
            config.SaslUsername = SaslUsername;
            config.SaslPassword = SaslPassword;
        }

        return config;
    }
}
