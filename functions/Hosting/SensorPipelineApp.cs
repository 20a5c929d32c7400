using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Http;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Functions.Health;
using SensorPipeline.Functions.Query;

namespace SensorPipeline.Functions.Hosting;

/// <summary>Composes the function app: configuration, the runtime, the domain, telemetry, endpoints.</summary>
public static class SensorPipelineApp
{
    /// <summary>The settings the functions name with <c>%Name%</c> in their attributes.</summary>
    private static readonly string[] AttributeSettings =
    [
        "RawTopic", "RealtimeTopic", "HistoricalTopic", "PersistRawGroup", "RealtimeGroup", "HistoricalGroup",
        "ReconcileSchedule", "ReconcileGracePeriod", "RecalibrationSchedule", "PayloadRetentionSchedule",
    ];

    /// <summary>
    /// Defaults for every setting a function names with <c>%Name%</c>, from the one list of
    /// settings and defaults (<see cref="SettingsReference"/>); anything overrides them.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> Defaults = SettingsReference.All
        .Where(s => AttributeSettings.Contains(s.Name, StringComparer.Ordinal))
        .ToDictionary(s => s.Name, s => (string?)s.Default, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A builder with the Functions-style configuration: app defaults, then host.json, then (for
    /// local runs) local.settings.json Values, then environment variables and the command line.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, string environment, string? localSettingsPath)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            EnvironmentName = environment,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Configuration.AddFunctionsFiles(Path.Combine(AppContext.BaseDirectory, "host.json"), localSettingsPath);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        return builder;
    }

    /// <summary>Registers the pipeline and builds the app, with every enabled function mapped.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddFunctionsRuntime(typeof(SensorPipelineApp).Assembly);
        builder.AddSensorPipeline();
        // The embedded MQTT broker runs under our host only (the official host runs no listeners of ours).
        builder.Services.AddSingleton<SensorPipeline.Functions.Mqtt.EmbeddedMqttBroker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SensorPipeline.Functions.Mqtt.EmbeddedMqttBroker>());
        builder.Services.AddSingleton<SensorPipeline.Functions.Mqtt.MqttBridge>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SensorPipeline.Functions.Mqtt.MqttBridge>());
        var app = builder.Build();
        app.MapHttpFunctions();
        // The dashboard at / (under the official host it is at /api/dashboard/ only).
        var dashboard = SensorPipeline.Functions.OperatorConsole.ConsolePages.PathUnder(app.Services.GetRequiredService<IOptions<FunctionsHostOptions>>());
        app.MapGet("/", () => Results.Redirect(dashboard)).ExcludeFromDescription();
        app.MapHealthChecks("/health/live", HealthResponse.Options(_ => false));
        app.MapHealthChecks("/health/ready", HealthResponse.Options());
        // The lag gauge exists once the lag reader does.
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.Services.GetRequiredService<KafkaLagReader>();
        return app;
    }

    /// <summary>
    /// The pipeline's services under either host (the portable host's <c>AddFunctionsRuntime</c>
    /// or the official host's <c>AddFunctionsServices</c> registered first), feature by feature.
    /// </summary>
    public static IHostApplicationBuilder AddSensorPipeline(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddPipelineOptions();
        builder.AddPipelineStorage();
        builder.AddIngest();
        builder.AddCalibration();
        builder.AddReconcile();
        builder.AddPipelineHealth();
        builder.AddPipelineConsole();
        builder.Services.AddReadApi();
        SensorPipeline.Functions.OperatorConsole.ConsoleExtensions.AddConsole(builder.Services);
        SensorPipeline.Functions.Devices.DeviceExtensions.AddDevices(builder.Services);
        builder.AddPipelineTelemetry();
        return builder;
    }

    /// <summary>Applies migrations, retrying while the database is unreachable (up to a minute).</summary>
    public static Task<MigrationResult> MigrateAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        return MigrateAsync(app.Services, cancellationToken);
    }

    /// <summary>Applies migrations, retrying while the database is unreachable (up to a minute).</summary>
    public static async Task<MigrationResult> MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var migrator = services.GetRequiredService<Migrator>();
        var mode = services.GetRequiredService<IOptions<PipelineOptions>>().Value.DatabaseMode;
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try
            {
                return await migrator.MigrateAsync(mode, cancellationToken);
            }
            catch (NpgsqlException e) when (e.IsTransient && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }
}
