namespace SensorPipeline.Functions.Runtime;

/// <summary>Marks a method as a function, as in the Azure Functions isolated worker.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class FunctionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Base of every trigger attribute: exactly one parameter of a function carries one.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public abstract class TriggerAttribute : Attribute;

public enum AuthorizationLevel
{
    /// <summary>No key needed.</summary>
    Anonymous,
    /// <summary>A function key (or the master key) in <c>x-functions-key</c> or <c>?code=</c>.</summary>
    Function,
    /// <summary>The master key only.</summary>
    Admin,
}

/// <summary>
/// HTTP trigger. The parameter is an <see cref="Microsoft.AspNetCore.Http.HttpRequest"/>; the
/// function returns <see cref="Microsoft.AspNetCore.Http.IResult"/> (or a Task of it). Route
/// parameters bind to method parameters of the same name.
/// </summary>
public sealed class HttpTriggerAttribute(AuthorizationLevel authLevel, params string[] methods) : TriggerAttribute
{
    public AuthorizationLevel AuthLevel { get; } = authLevel;
    public IReadOnlyList<string> Methods { get; } = methods;
    /// <summary>Route below <c>http.routePrefix</c>; defaults to the function's name.</summary>
    public string? Route { get; init; }
}

/// <summary>
/// Kafka trigger. The parameter is a message (<c>T</c>, JSON-deserialized; <c>string</c>;
/// <c>byte[]</c>; or <see cref="KafkaRecord{T}"/>), or, with <see cref="IsBatched"/>, an
/// <c>IReadOnlyList</c> of one of those. <c>%Name%</c> resolves from configuration.
/// </summary>
public sealed class KafkaTriggerAttribute(string brokerList, string topic) : TriggerAttribute
{
    public string BrokerList { get; } = brokerList;
    public string Topic { get; } = topic;
    public string? ConsumerGroup { get; init; }
    public bool IsBatched { get; init; }
}

/// <summary>Timer trigger with a 6-field NCRONTAB expression (seconds first), or <c>%Setting%</c>.</summary>
public sealed class TimerTriggerAttribute(string schedule) : TriggerAttribute
{
    public string Schedule { get; } = schedule;
    /// <summary>Also run once when the host starts.</summary>
    public bool RunOnStartup { get; init; }
}
