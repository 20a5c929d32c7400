using Microsoft.Extensions.DependencyInjection.Extensions;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Functions.Runtime.Kafka;

namespace SensorPipeline.Functions.Query;

public static class ReadApiExtensions
{
    /// <summary>The read API's services: queries, limits, Kafka lag (with its gauge) and the Kafka readiness check.</summary>
    public static IServiceCollection AddReadApi(this IServiceCollection services)
    {
        services.AddOptions<QueryOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ReadingQueryStore>();
        services.TryAddSingleton<KafkaLagMonitor>();
        services.AddHealthChecks().AddCheck<KafkaHealthCheck>("kafka", tags: ["ready"]);
        return services;
    }
}
