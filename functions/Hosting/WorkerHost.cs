using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Configuration.Memory;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// The program as the official Azure Functions host starts it (Core Tools' <c>func start</c>,
/// Azure, the official container image): the real isolated worker, which connects back to the
/// host over gRPC; the host runs the triggers (its Kafka extension included, when the build
/// carried it). The same <c>Add…</c> calls as our portable host register the pipeline.
/// </summary>
public static class WorkerHost
{
    /// <summary>
    /// True when a Functions host started this process: it passes <c>--functions-uri</c> (with
    /// <c>--functions-worker-id</c>, <c>--functions-request-id</c>, ...) or sets
    /// <c>Functions:Worker:HostEndpoint</c>.
    /// </summary>
    public static bool IsStartedByFunctionsHost(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Any(a => a.StartsWith("--functions-uri", StringComparison.OrdinalIgnoreCase)
                             || a.StartsWith("--functions-worker-id", StringComparison.OrdinalIgnoreCase))
               || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("Functions__Worker__HostEndpoint"));
    }

    public static async Task<int> RunAsync(string[] args)
    {
        using var host = CreateBuilder(args).Build();
        await host.RunAsync();
        return 0;
    }

    /// <summary>The worker as the official host runs it: configuration, the ASP.NET Core integration, the same registrations as our host.</summary>
    public static FunctionsApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.Configuration.AddFunctionsFiles(Path.Combine(AppContext.BaseDirectory, "host.json"), localSettingsPath: null);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = SensorPipelineApp.Defaults });
        // The device CA under HOME (persistent storage on Azure) unless DeviceCaDirectory says otherwise.
        builder.Configuration.Sources.Insert(1, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["DeviceCaDirectory"] = Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? AppContext.BaseDirectory, ".sensorpipeline", "device-ca") },
        });
        builder.ConfigureFunctionsWebApplication();
        // Registered after the ASP.NET Core integration, so it runs inside it: an IResult is
        // written to the response before the integration looks for an IActionResult.
        builder.UseMiddleware<HttpResultMiddleware>();
        builder.AddFunctionsServices(typeof(SensorPipelineApp).Assembly);
        builder.AddSensorPipeline();
        builder.Services.AddHostedService<MigrateAtStart>();
        return builder;
    }

    /// <summary>
    /// The official ASP.NET Core integration executes an <c>IActionResult</c> a function returns,
    /// not an <see cref="IResult"/>; this executes the latter the same way.
    /// </summary>
    internal sealed class HttpResultMiddleware : IFunctionsWorkerMiddleware
    {
        public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
        {
            await next(context);
            if (context.GetInvocationResult() is { Value: IResult result } invocation && context.GetHttpContext() is { } http)
            {
                await result.ExecuteAsync(http);
                invocation.Value = null;
            }
        }
    }

    /// <summary>Applies the schema before the worker takes invocations (our host's <c>start</c> does it in the CLI).</summary>
    internal sealed class MigrateAtStart(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => SensorPipelineApp.MigrateAsync(services, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
