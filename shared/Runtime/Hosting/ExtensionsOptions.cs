using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Runtime.Hosting;

public sealed class ExtensionsOptions
{
    [Required]
    public KafkaExtensionOptions Kafka { get; set; } = new();
}
