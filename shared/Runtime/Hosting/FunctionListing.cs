using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Runtime.Http;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>What <c>func start</c> prints at start: each enabled function with its trigger; for HTTP, the methods and full URL.</summary>
public static class FunctionListing
{
    public static IReadOnlyList<string> Lines(FunctionCatalog catalog, SettingResolver settings, string routePrefix, string baseUrl)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(settings);
        return catalog.Enabled.Select(f => $"{f.Name}: {Describe(f, settings, routePrefix, baseUrl.TrimEnd('/'))}").ToList();
    }

    private static string Describe(FunctionDescriptor function, SettingResolver settings, string routePrefix, string baseUrl)
    {
        var usedBy = $"function {function.Name}";
        return function.Trigger switch
        {
            HttpTriggerAttribute http =>
                $"[{string.Join(",", HttpFunctionEndpoints.MethodsOf(http))}] {baseUrl}{HttpFunctionEndpoints.RouteOf(function, http, routePrefix)}",
            KafkaTriggerAttribute kafka =>
                $"kafkaTrigger {settings.Resolve(kafka.Topic, usedBy)} (group {settings.Resolve(kafka.ConsumerGroup ?? function.Name, usedBy)}{(kafka.IsBatched ? ", batched" : "")})"
                + (function.KafkaOutput is { } output ? $" -> kafka {settings.Resolve(output.Topic, usedBy)}" : ""),
            TimerTriggerAttribute timer => $"timerTrigger {settings.Resolve(timer.Schedule, usedBy)}",
            var other => other.GetType().Name,
        };
    }
}
