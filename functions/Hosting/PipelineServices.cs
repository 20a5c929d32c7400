using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Calibrate;
using SensorPipeline.Functions.Health;
using SensorPipeline.Functions.Ingest;
using SensorPipeline.Functions.OperatorConsole;
using SensorPipeline.Functions.Reconcile;
using SensorPipeline.Runtime;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Timers;

namespace SensorPipeline.Functions.Hosting;

/// <summary>The pipeline's services, one <c>Add…</c> per feature; <see cref="SensorPipelineApp.AddSensorPipeline"/> calls them all.</summary>
public static class PipelineServices
{
    /// <summary>The flat settings (<see cref="PipelineOptions"/>), validated at start; message JSON for the Kafka triggers.</summary>
    public static IHostApplicationBuilder AddPipelineOptions(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<PipelineOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.Configure<FunctionsSerializerOptions>(o => o.Json = PipelineJsonContext.Default.Options);
        return builder;
    }

    /// <summary>One <see cref="NpgsqlDataSource"/> for the process, the stores and the migrator.</summary>
    public static IHostApplicationBuilder AddPipelineStorage(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
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
        services.AddSingleton<PayloadLedgerStore>();
        services.AddSingleton<CalibrationStore>();
        services.AddSingleton<RecalibrationStore>();
        services.AddSingleton<RollupRefresher>();
        services.AddSingleton(sp => new Migrator(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<PipelineOptions>>().Value.Timescale()));
        return builder;
    }

    /// <summary>
    /// Ingest: the raw backlog (backpressure, refreshed where IngestReadings runs), the one payload
    /// path of every door, and the error ledger with its background writer.
    /// </summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<RawBacklog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RawBacklog>());
        builder.Services.AddSingleton<PayloadIngest>();
        builder.Services.AddSingleton<IngestErrorLedger>();
        builder.Services.AddHostedService<IngestErrorWriter>();
        return builder;
    }

    /// <summary>
    /// The calibrator both calibration functions share; a new version and its recalibration (the
    /// PUT's and the calibration file's one code path); calibration as code when CalibrationFile is
    /// set: applied at start and on every change of the file.
    /// </summary>
    public static IHostApplicationBuilder AddCalibration(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<Calibrator>();
        builder.Services.AddSingleton<CalibrationChanges>();
        builder.Services.AddSingleton<CalibrationFileState>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration["CalibrationFile"]))
        {
            builder.Services.AddSingleton<CalibrationFileWatcher>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<CalibrationFileWatcher>());
        }

        return builder;
    }

    /// <summary>
    /// What the timers need: runs once across replicas — an Azure Storage blob lease when
    /// AzureWebJobsStorage is set (UseDevelopmentStorage=true is Azurite), otherwise the database —
    /// and the recalibration producer's progress watch.
    /// </summary>
    public static IHostApplicationBuilder AddReconcile(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
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

        services.AddSingleton<RecalibrationHealth>();
        services.AddHostedService(sp => sp.GetRequiredService<RecalibrationHealth>());
        return builder;
    }

    /// <summary>Readiness: the database, a Kafka broker, and progress (nothing this instance runs is stalled).</summary>
    public static IHostApplicationBuilder AddPipelineHealth(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        builder.Services.AddHealthChecks().AddCheck<KafkaHealthCheck>("kafka", tags: ["ready"]);
        builder.Services.AddSingleton<PipelineProgress>();
        builder.Services.AddHealthChecks().AddCheck<ProgressHealthCheck>("progress", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// The operator's pipeline view (<c>GET /api/console/pipeline</c>, the dashboard and <c>status</c>):
    /// lag thresholds (LagThreshold__&lt;function&gt; validated here), the lag history and its sampler,
    /// the oldest-message reader.
    /// </summary>
    public static IHostApplicationBuilder AddPipelineConsole(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        LagThresholds.Validate(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton<LagThresholds>();
        services.AddSingleton<LagHistory>();
        services.AddSingleton<OldestMessageAge>();
        services.AddSingleton<PipelineView>();
        services.AddHostedService<LagSampler>();
        return builder;
    }

    /// <summary>OpenTelemetry in one place: metrics (Prometheus, OTLP when configured), traces only with an OTLP endpoint.</summary>
    public static IHostApplicationBuilder AddPipelineTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // service.name on every metric and trace (Prometheus target_info): OTEL_SERVICE_NAME, or "sensorpipeline".
        var otel = builder.Services.AddOpenTelemetry()
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
}
