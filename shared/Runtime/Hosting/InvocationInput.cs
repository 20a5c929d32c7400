using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>What a trigger hands the invoker for one invocation.</summary>
/// <param name="TriggerValue">The value of the trigger parameter.</param>
/// <param name="NamedValues">Values bound to parameters by name (HTTP route values).</param>
/// <param name="BindingData">Trigger metadata, computed on first read.</param>
/// <param name="RetryCount">Attempts before this one.</param>
/// <param name="MaxRetryCount">Retries the function's policy allows.</param>
public sealed record InvocationInput(
    object? TriggerValue,
    IReadOnlyDictionary<string, object?>? NamedValues = null,
    Func<IReadOnlyDictionary<string, object?>>? BindingData = null,
    int RetryCount = 0,
    int MaxRetryCount = 0);

internal sealed class PortableBindingContext(Func<IReadOnlyDictionary<string, object?>>? factory) : BindingContext
{
    private static readonly IReadOnlyDictionary<string, object?> Empty = new Dictionary<string, object?>();
    private IReadOnlyDictionary<string, object?>? _data;

    public override IReadOnlyDictionary<string, object?> BindingData => _data ??= factory?.Invoke() ?? Empty;
}

internal sealed class PortableRetryContext(int retryCount, int maxRetryCount) : RetryContext
{
    public override int RetryCount { get; } = retryCount;

    public override int MaxRetryCount { get; } = maxRetryCount;
}

internal sealed class PortableTraceContext(Activity? activity) : TraceContext
{
    public override string TraceParent { get; } = activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id! : "";

    public override string TraceState { get; } = activity?.TraceStateString ?? "";
}

internal sealed class PortableInvocationFeatures : IInvocationFeatures
{
    private readonly Dictionary<Type, object> _features = [];

    public T? Get<T>() => _features.TryGetValue(typeof(T), out var value) ? (T)value : default;

    public void Set<T>(T instance)
    {
        if (instance is null)
        {
            _features.Remove(typeof(T));
        }
        else
        {
            _features[typeof(T)] = instance;
        }
    }

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() => _features.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The Worker's <see cref="FunctionDefinition"/> of a discovered function.</summary>
internal sealed class PortableFunctionDefinition : FunctionDefinition
{
    public PortableFunctionDefinition(FunctionDescriptor function)
    {
        Name = function.Name;
        Id = function.Name;
        PathToAssembly = function.Type.Assembly.Location;
        EntryPoint = $"{function.Type.FullName}.{function.Method.Name}";
        Parameters = [.. function.Method.GetParameters().Select(p => new FunctionParameter(p.Name ?? "", p.ParameterType))];
        var triggerName = function.TriggerParameter.Name ?? "trigger";
        InputBindings = ImmutableDictionary<string, BindingMetadata>.Empty
            .Add(triggerName, new PortableBindingMetadata(triggerName, function.TriggerBindingType, BindingDirection.In));
        var outputs = ImmutableDictionary<string, BindingMetadata>.Empty;
        if (function.Trigger is HttpTriggerAttribute)
        {
            outputs = outputs.Add("$return", new PortableBindingMetadata("$return", "http", BindingDirection.Out));
        }
        else if (function.KafkaOutput is not null)
        {
            outputs = outputs.Add("$return", new PortableBindingMetadata("$return", "kafka", BindingDirection.Out));
        }

        OutputBindings = outputs;
    }

    public override ImmutableArray<FunctionParameter> Parameters { get; }

    public override string PathToAssembly { get; }

    public override string EntryPoint { get; }

    public override string Id { get; }

    public override string Name { get; }

    public override IImmutableDictionary<string, BindingMetadata> InputBindings { get; }

    public override IImmutableDictionary<string, BindingMetadata> OutputBindings { get; }
}

internal sealed class PortableBindingMetadata(string name, string type, BindingDirection direction) : BindingMetadata
{
    public override string Name { get; } = name;

    public override string Type { get; } = type;

    public override BindingDirection Direction { get; } = direction;
}
