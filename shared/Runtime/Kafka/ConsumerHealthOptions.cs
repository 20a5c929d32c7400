using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>When a Kafka-triggered function counts as stalled.</summary>
public sealed class ConsumerHealthOptions
{
    /// <summary>
    /// A function whose group has lag and has made no progress (no committed offset advanced, no
    /// batch finished here) for longer than this is stalled: readiness fails and an error is logged.
    /// </summary>
    [ConfigurationKeyName("KafkaStallTimeout")]
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "KafkaStallTimeout must be between 00:00:01 and 1.00:00:00.")]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
