using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.OperatorConsole;

public static class ConsoleExtensions
{
    /// <summary>The dashboard: its embedded files and the queries only it makes.</summary>
    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddSingleton<ConsoleAssets>();
        services.AddSingleton<ConsoleQueryStore>();
        return services;
    }
}
