using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SensorPipeline.Runtime.Kafka;

public static class ConsumerHealthExtensions
{
    /// <summary>
    /// The consumer health record, its monitor, the start-up group protocol check and the stall
    /// timeout setting (<c>KafkaStallTimeout</c>). Call before the Kafka triggers are registered:
    /// the check must run before they subscribe.
    /// </summary>
    public static IServiceCollection AddKafkaConsumerHealth(this IServiceCollection services)
    {
        services.AddOptions<ConsumerHealthOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ConsumerHealth>();
        services.AddHostedService<KafkaGroupProtocolCheck>();
        services.AddHostedService<ConsumerHealthMonitor>();
        return services;
    }
}
