using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Query;

public static class ReadApiExtensions
{
    /// <summary>The read API's services: queries and their limits.</summary>
    public static IServiceCollection AddReadApi(this IServiceCollection services)
    {
        services.AddOptions<QueryOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ReadingQueryStore>();
        return services;
    }
}
