using Microsoft.Azure.Functions.Worker;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Http;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Timers;

namespace SensorPipeline.Runtime.Hosting;

public static class FunctionsRuntimeExtensions
{
    /// <summary>
    /// Registers the portable host: <see cref="AddFunctionsServices"/>, keys, and the triggers of
    /// the enabled functions (Kafka consume loops, timers; HTTP functions are mapped by
    /// <see cref="HttpFunctionEndpoints.MapHttpFunctions"/>). Functions are discovered from the
    /// Worker's <see cref="FunctionAttribute"/> in <paramref name="assemblies"/>.
    /// </summary>
    public static IHostApplicationBuilder AddFunctionsRuntime(this IHostApplicationBuilder builder, params Assembly[] assemblies)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddFunctionsServices(assemblies);
        var services = builder.Services;
        var development = builder.Environment.IsDevelopment();
        services.AddOptions<FunctionKeysOptions>()
            .BindConfiguration(FunctionKeysOptions.SectionName)
            .PostConfigure(keys =>
            {
                if (development && string.IsNullOrEmpty(keys.Master) && keys.Function.Count == 0)
                {
                    keys.AllowAnonymous = true;
                }
            })
            .Validate<FunctionCatalog>(
                (keys, catalog) => keys.AllowAnonymous || !string.IsNullOrEmpty(keys.Master) || !catalog.EnabledWith<HttpTriggerAttribute>().Any(),
                "Keys:Master (environment variable Keys__Master) is required outside Development when an HTTP function is enabled.")
            .ValidateOnStart();

        services.Configure<KestrelServerOptions>(kestrel =>
            kestrel.Limits.MaxRequestBodySize = builder.Configuration.GetValue<long?>($"{FunctionsHostOptions.SectionName}:http:maxRequestBodySize") ?? new HttpHostOptions().MaxRequestBodySize);
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));
        // IActionResult results (OkObjectResult, ...) run through MVC's result executors.
        services.AddMvcCore();
        services.AddSingleton<FunctionInvoker>();
        services.AddSingleton(sp => new FunctionKeyValidator(sp.GetRequiredService<IOptions<FunctionKeysOptions>>().Value));
        services.AddHostedService<KafkaTriggersService>();
        services.AddHostedService<TimerTriggersService>();
        return builder;
    }

    /// <summary>
    /// What the app's functions use under either host: host.json options, Kafka connection
    /// settings, the function catalog (discovery and the host.json allow-list), setting
    /// resolution, the Kafka producer, lag readers, dead letters and the timer schedule monitor.
    /// Under the official Functions host this is all that is registered: the host runs the triggers.
    /// </summary>
    public static IHostApplicationBuilder AddFunctionsServices(this IHostApplicationBuilder builder, params Assembly[] assemblies)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<FunctionsHostOptions>()
            .BindConfiguration(FunctionsHostOptions.SectionName)
            .Validate(ValidateTree, "host.json (AzureFunctionsJobHost) has an invalid value")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<FunctionsHostOptions>, FunctionsHostOptionsValidator>();

        services.AddOptions<KafkaConnectionOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<FunctionsSerializerOptions>();

        var discovered = FunctionCatalog.Discover(assemblies);
        services.AddSingleton(sp => new FunctionCatalog(discovered, sp.GetRequiredService<IOptions<FunctionsHostOptions>>().Value.Functions));
        services.AddSingleton<SettingResolver>();
        services.AddSingleton<KafkaPublisher>();
        services.AddSingleton<ConsumerLagRegistry>();
        services.AddSingleton<KafkaLagReader>();
        services.AddSingleton<DeadLetterBox>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IScheduleMonitor, InMemoryScheduleMonitor>();
        services.AddKafkaConsumerHealth();
        services.AddSingleton(sp => new TimerHealth(
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<TimerHealth>>())
        {
            FunctionTimeout = sp.GetRequiredService<IOptions<FunctionsHostOptions>>().Value.FunctionTimeout,
        });
        return builder;
    }

    private static bool ValidateTree(FunctionsHostOptions options) =>
        TryValidate(options) && TryValidate(options.Http) && TryValidate(options.Extensions.Kafka);

    private static bool TryValidate(object value) =>
        Validator.TryValidateObject(value, new ValidationContext(value), null, validateAllProperties: true);

    /// <summary>Names the failing host.json setting in the start-up error.</summary>
    private sealed class FunctionsHostOptionsValidator : IValidateOptions<FunctionsHostOptions>
    {
        public ValidateOptionsResult Validate(string? name, FunctionsHostOptions options)
        {
            var failures = new List<string>();
            foreach (var (path, value) in new (string, object)[] { ("", options), ("http", options.Http), ("extensions:kafka", options.Extensions.Kafka) })
            {
                var results = new List<ValidationResult>();
                if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
                {
                    failures.AddRange(results.Select(r => $"{FunctionsHostOptions.SectionName}:{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
                }
            }

            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
