using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>
/// The functions of an app, found from the Azure Functions Worker's own attributes
/// (<see cref="FunctionAttribute"/>, a trigger binding attribute on one parameter, an optional
/// <see cref="RetryAttribute"/> and <see cref="KafkaOutputAttribute"/> on the method), and the
/// subset this instance runs (host.json <c>functions</c>).
/// </summary>
public sealed class FunctionCatalog
{
    /// <summary>The triggers this host runs.</summary>
    public static readonly IReadOnlyList<Type> SupportedTriggers =
        [typeof(HttpTriggerAttribute), typeof(KafkaTriggerAttribute), typeof(TimerTriggerAttribute)];

    public FunctionCatalog(IEnumerable<FunctionDescriptor> all, IReadOnlyCollection<string> allowList)
    {
        All = all.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var duplicate = All.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two functions are named '{duplicate.Key}'.");
        }

        var unknown = allowList.Where(name => All.All(f => !string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException(
                $"host.json 'functions' (AzureFunctionsJobHost:functions) names unknown function(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", All.Select(f => f.Name))}.");
        }

        Enabled = allowList.Count == 0
            ? All
            : All.Where(f => allowList.Contains(f.Name, StringComparer.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>Every function in the app.</summary>
    public IReadOnlyList<FunctionDescriptor> All { get; }

    /// <summary>The functions this instance runs (the allow-list, or all).</summary>
    public IReadOnlyList<FunctionDescriptor> Enabled { get; }

    public IEnumerable<(FunctionDescriptor Function, T Trigger)> EnabledWith<T>() where T : TriggerBindingAttribute =>
        Enabled.Where(f => f.Trigger is T).Select(f => (f, (T)f.Trigger));

    public static IReadOnlyList<FunctionDescriptor> Discover(IEnumerable<Assembly> assemblies)
    {
        var found = new List<FunctionDescriptor>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => t is { IsClass: true, IsAbstract: false } || t is { IsAbstract: true, IsSealed: true }))
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                var function = method.GetCustomAttribute<FunctionAttribute>();
                if (function is not null)
                {
                    found.Add(Describe(function.Name, type, method));
                }
            }
        }

        return found;
    }

    private static FunctionDescriptor Describe(string name, Type type, MethodInfo method)
    {
        var where = $"Function '{name}' ({type.Name}.{method.Name})";
        var triggers = method.GetParameters()
            .Select(p => (Parameter: p, Trigger: p.GetCustomAttribute<TriggerBindingAttribute>()))
            .Where(x => x.Trigger is not null)
            .ToList();
        if (triggers.Count != 1)
        {
            throw new InvalidOperationException($"{where} must have exactly one trigger parameter; it has {triggers.Count}.");
        }

        var (parameter, trigger) = (triggers[0].Parameter, triggers[0].Trigger!);
        if (!SupportedTriggers.Contains(trigger.GetType()))
        {
            throw new InvalidOperationException(
                $"{where}: the portable host runs {string.Join(", ", SupportedTriggers.Select(t => t.Name))}; not {trigger.GetType().Name}.");
        }

        if (trigger is HttpTriggerAttribute && parameter.ParameterType != typeof(HttpRequest))
        {
            throw new InvalidOperationException(
                $"{where}: an HTTP trigger parameter must be Microsoft.AspNetCore.Http.HttpRequest (the ASP.NET Core integration), not {parameter.ParameterType.Name}.");
        }

        var inputs = method.GetParameters().Where(p => p != parameter && p.GetCustomAttribute<BindingAttribute>() is not null).ToList();
        if (inputs.Count > 0)
        {
            throw new InvalidOperationException($"{where}: input bindings are not supported by the portable host ({string.Join(", ", inputs.Select(p => p.Name))}).");
        }

        var outputs = method.GetCustomAttributes<OutputBindingAttribute>().ToList();
        var kafkaOutput = outputs.OfType<KafkaOutputAttribute>().FirstOrDefault();
        if (outputs.Count > (kafkaOutput is null ? 0 : 1) || (kafkaOutput is not null && trigger is HttpTriggerAttribute))
        {
            throw new InvalidOperationException(
                $"{where}: the portable host supports one output binding, [KafkaOutput] on a Kafka- or timer-triggered function's return value.");
        }

        return new FunctionDescriptor(name, type, method, parameter, trigger, method.GetCustomAttribute<RetryAttribute>(), kafkaOutput);
    }
}
