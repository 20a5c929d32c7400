using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Calibrate;
using SensorPipeline.Functions.Runtime;
using SensorPipeline.Functions.Runtime.Hosting;
using SensorPipeline.Functions.Runtime.Http;
using SensorPipeline.Functions.Runtime.Kafka;
using SensorPipeline.Functions.Runtime.Timers;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SensorPipeline.Functions.Query;

namespace SensorPipeline.Functions.Hosting;

/// <summary>Composes the function app: configuration, the runtime, the domain, telemetry, endpoints.</summary>
public static class SensorPipelineApp
{
    /// <summary>Defaults for every setting a function names with <c>%Name%</c>; anything overrides them.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["RawTopic"] = "temperature.raw",
        ["RealtimeTopic"] = "temperature.calibration.realtime",
        ["HistoricalTopic"] = "temperature.calibration.historical",
        ["PersistRawGroup"] = "persist-raw",
        ["RealtimeGroup"] = "calibrate-realtime",
        ["HistoricalGroup"] = "calibrate-historical",
        ["ReconcileSchedule"] = "0 */1 * * * *",
        ["ReconcileGracePeriod"] = "00:02:00",
        ["RecalibrationSchedule"] = "*/5 * * * * *",
    };

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
        app.MapHealthChecks("/health/live", HealthResponse.Options(_ => false));
        app.MapHealthChecks("/health/ready", HealthResponse.Options());
        // Read API, health and metrics (issue 5): the lag gauge exists once its monitor does.
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.Services.GetRequiredService<KafkaLagMonitor>();
        return app;
    }

    /// <summary>
    /// The pipeline's services under either host (the portable host's <c>AddFunctionsRuntime</c>
    /// or the official host's <c>AddFunctionsServices</c> registered first): options, storage,
    /// calibration, backpressure, timer leases, health, the read API and telemetry.
    /// </summary>
    public static IHostApplicationBuilder AddSensorPipeline(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<PipelineOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.Configure<FunctionsSerializerOptions>(o => o.Json = PipelineJsonContext.Default.Options);
        services.AddSingleton(sp =>
        {
            var connection = sp.GetRequiredService<IOptions<PipelineOptions>>().Value.TimescaleConnection;
            var dataSource = new NpgsqlDataSourceBuilder(connection);
            dataSource.ConnectionStringBuilder.ApplicationName ??= "sensorpipeline";
            // The hot statements (raw insert, calibrated upsert) run once per batch, every batch:
            // prepared once per connection, they skip the parse and plan. A connection string that
            // says otherwise (e.g. "Max Auto Prepare=0" behind a transaction-mode PgBouncer) wins.
            var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connection };
            if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
            {
                dataSource.ConnectionStringBuilder.MaxAutoPrepare = 32;
            }

            return dataSource.Build();
        });
        services.AddSingleton<RawReadingStore>();
        services.AddSingleton<CalibrationStore>();
        services.AddSingleton(sp => new Migrator(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<PipelineOptions>>().Value.Timescale()));
        services.AddSingleton<RecalibrationStore>();
        services.AddSingleton<RollupRefresher>();
        services.AddSingleton<Calibrator>();
        services.AddSingleton<SensorPipeline.Functions.Ingest.RawBacklog>();
        services.AddHostedService(sp => sp.GetRequiredService<SensorPipeline.Functions.Ingest.RawBacklog>());
        // Timers run once across replicas: an Azure Storage blob lease when AzureWebJobsStorage is
        // set (UseDevelopmentStorage=true is Azurite), otherwise the database.
        var storage = builder.Configuration["AzureWebJobsStorage"];
        if (string.IsNullOrWhiteSpace(storage))
        {
            services.AddSingleton<IScheduleMonitor>(sp => new PostgresScheduleMonitor(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            var hostId = builder.Configuration["AzureFunctionsJobHost:id"] ?? "sensorpipeline";
            services.AddSingleton<IScheduleMonitor>(_ => new BlobScheduleMonitor(new Azure.Storage.Blobs.BlobServiceClient(storage), hostId));
        }
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        // Progress, not presence, is health (issue 17).
        services.AddSingleton<SensorPipeline.Functions.Reconcile.RecalibrationHealth>();
        services.AddHostedService(sp => sp.GetRequiredService<SensorPipeline.Functions.Reconcile.RecalibrationHealth>());
        services.AddSingleton<PipelineProgress>();
        services.AddHealthChecks().AddCheck<ProgressHealthCheck>("progress", tags: ["ready"]);
        services.AddReadApi();
        SensorPipeline.Functions.Devices.DeviceExtensions.AddDevices(services);

        // service.name on every metric and trace (Prometheus target_info): OTEL_SERVICE_NAME, or "sensorpipeline".
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } serviceName ? serviceName : "sensorpipeline",
                serviceVersion: typeof(SensorPipelineApp).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics.AddMeter(RuntimeTelemetry.MeterName, PipelineTelemetry.MeterName));
        otel.WithMetrics(metrics => metrics.AddPrometheusExporter());
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Traces only where they go somewhere: recording every activity with no exporter
            // costs CPU on the hot path for nothing.
            otel.WithMetrics(metrics => metrics.AddOtlpExporter());
            otel.WithTracing(tracing => tracing
                .AddSource(PipelineTracing.SourceNames).AddSource("Microsoft.AspNetCore")
                .AddOtlpExporter());
        }

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
