using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>A function found on a class: its name, method, trigger, retry policy and output.</summary>
public sealed record FunctionDescriptor(
    string Name,
    Type Type,
    MethodInfo Method,
    ParameterInfo TriggerParameter,
    TriggerBindingAttribute Trigger,
    RetryAttribute? Retry = null,
    KafkaOutputAttribute? KafkaOutput = null)
{
    private PortableFunctionDefinition? _definition;

    /// <summary>The Worker's description of the function, as <see cref="FunctionContext.FunctionDefinition"/> gives it.</summary>
    public FunctionDefinition Definition => _definition ??= new PortableFunctionDefinition(this);

    /// <summary>The binding type names functions.metadata uses for this trigger.</summary>
    public string TriggerBindingType => Trigger switch
    {
        HttpTriggerAttribute => "httpTrigger",
        KafkaTriggerAttribute => "kafkaTrigger",
        TimerTriggerAttribute => "timerTrigger",
        _ => Trigger.GetType().Name,
    };
}
