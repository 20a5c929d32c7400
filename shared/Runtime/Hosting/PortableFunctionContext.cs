using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>
/// The Worker's <see cref="FunctionContext"/> for one invocation in the portable host: invocation
/// id, function definition, trigger metadata (<see cref="BindingContext.BindingData"/>, built only
/// when read), retry context, the invocation scope's services, and the trace context of the
/// activity current when the invocation started.
/// </summary>
public sealed class PortableFunctionContext : FunctionContext
{
    private readonly FunctionDescriptor _function;
    private readonly CancellationToken _cancellationToken;
    private string? _invocationId;
    private IDictionary<object, object>? _items;
    private PortableInvocationFeatures? _features;

    public PortableFunctionContext(FunctionDescriptor function, IServiceProvider services, InvocationInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(input);
        _function = function;
        _cancellationToken = cancellationToken;
        InstanceServices = services;
        BindingContext = new PortableBindingContext(input.BindingData);
        RetryContext = new PortableRetryContext(input.RetryCount, input.MaxRetryCount);
        TraceContext = new PortableTraceContext(Activity.Current);
    }

    public override string InvocationId => _invocationId ??= Guid.NewGuid().ToString();

    public override string FunctionId => _function.Definition.Id;

    public override TraceContext TraceContext { get; }

    public override BindingContext BindingContext { get; }

    public override RetryContext RetryContext { get; }

    public override IServiceProvider InstanceServices { get; set; }

    public override FunctionDefinition FunctionDefinition => _function.Definition;

    public override IDictionary<object, object> Items
    {
        get => _items ??= new Dictionary<object, object>();
        set => _items = value;
    }

    public override IInvocationFeatures Features => _features ??= new PortableInvocationFeatures();

    public override CancellationToken CancellationToken => _cancellationToken;
}
