using System.Reflection;

namespace SensorPipeline.Functions.Runtime.Hosting;

/// <summary>A function found on a class: its name, method and trigger.</summary>
public sealed record FunctionDescriptor(
    string Name,
    Type Type,
    MethodInfo Method,
    ParameterInfo TriggerParameter,
    TriggerAttribute Trigger);

/// <summary>Finds the <see cref="FunctionAttribute"/> methods of the given assemblies.</summary>
public sealed class FunctionCatalog
{
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

    public IEnumerable<(FunctionDescriptor Function, T Trigger)> EnabledWith<T>() where T : TriggerAttribute =>
        Enabled.Where(f => f.Trigger is T).Select(f => (f, (T)f.Trigger));

    public static IReadOnlyList<FunctionDescriptor> Discover(IEnumerable<Assembly> assemblies)
    {
        var found = new List<FunctionDescriptor>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => t is { IsClass: true, IsAbstract: false }))
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            {
                var function = method.GetCustomAttribute<FunctionAttribute>();
                if (function is null)
                {
                    continue;
                }

                var triggers = method.GetParameters()
                    .Select(p => (Parameter: p, Trigger: p.GetCustomAttribute<TriggerAttribute>()))
                    .Where(x => x.Trigger is not null)
                    .ToList();
                if (triggers.Count != 1)
                {
                    throw new InvalidOperationException(
                        $"Function '{function.Name}' ({type.Name}.{method.Name}) must have exactly one trigger parameter; it has {triggers.Count}.");
                }

                found.Add(new FunctionDescriptor(function.Name, type, method, triggers[0].Parameter, triggers[0].Trigger!));
            }
        }

        return found;
    }
}
