using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>
/// Invokes a function as the isolated worker does: a DI scope per invocation, the class built
/// from it, a <see cref="FunctionContext"/> of ours, parameters bound by kind (trigger value,
/// <see cref="CancellationToken"/>, <see cref="FunctionContext"/>, named values such as route
/// parameters, then services), the result awaited, and a <c>[KafkaOutput]</c> return value
/// published once the function succeeded.
/// </summary>
public sealed class FunctionInvoker(
    IServiceScopeFactory scopes,
    IServiceProvider services,
    IOptions<FunctionsSerializerOptions> serializer)
{
    public static readonly ActivitySource ActivitySource = new("SensorPipeline.Functions.Runtime");

    private readonly ConcurrentDictionary<FunctionDescriptor, ParameterSource[]> _plans = new(ReferenceEqualityComparer.Instance);

    private enum ParameterKind { Trigger, CancellationToken, Context, Service }

    private readonly record struct ParameterSource(ParameterKind Kind, ParameterInfo Parameter);

    public Task<object?> InvokeAsync(FunctionDescriptor function, object? triggerValue, CancellationToken cancellationToken) =>
        InvokeAsync(function, new InvocationInput(triggerValue), cancellationToken);

    public async Task<object?> InvokeAsync(FunctionDescriptor function, InvocationInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(input);
        var plan = _plans.GetOrAdd(function, Plan);
        await using var scope = scopes.CreateAsyncScope();
        var provider = scope.ServiceProvider;
        var context = new PortableFunctionContext(function, provider, input, cancellationToken);
        var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(provider, function.Type);
        var arguments = new object?[plan.Length];
        for (var i = 0; i < plan.Length; i++)
        {
            var (kind, parameter) = plan[i];
            arguments[i] = kind switch
            {
                ParameterKind.Trigger => input.TriggerValue,
                ParameterKind.CancellationToken => cancellationToken,
                ParameterKind.Context => context,
                _ when input.NamedValues is not null && parameter.Name is not null && input.NamedValues.TryGetValue(parameter.Name, out var named)
                    => Convert(named, parameter, function.Name),
                _ => provider.GetService(parameter.ParameterType)
                    ?? (parameter.HasDefaultValue ? parameter.DefaultValue : throw new InvalidOperationException(
                        $"Function '{function.Name}': cannot bind parameter '{parameter.Name}' of type {parameter.ParameterType.Name}.")),
            };
        }

        object? returned;
        cancellationToken.ThrowIfCancellationRequested();
        // The function runs with no synchronization context, as under the Functions worker: its
        // own awaits continue wherever their I/O completes, and only this method's await below
        // returns to the caller's context (a consume loop's thread).
        var callerContext = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            returned = function.Method.Invoke(instance, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(callerContext);
        }

        var result = await UnwrapAsync(returned);
        if (function.KafkaOutput is { } output && result is not null)
        {
            var topic = services.GetRequiredService<SettingResolver>().Resolve(output.Topic, $"function {function.Name}");
            await services.GetRequiredService<KafkaPublisher>().PublishAsync(topic, ToMessages(result), cancellationToken);
        }

        return result;
    }

    private static ParameterSource[] Plan(FunctionDescriptor function) =>
        function.Method.GetParameters().Select(p => new ParameterSource(
            p == function.TriggerParameter ? ParameterKind.Trigger
            : p.ParameterType == typeof(CancellationToken) ? ParameterKind.CancellationToken
            : p.ParameterType == typeof(FunctionContext) ? ParameterKind.Context
            : ParameterKind.Service,
            p)).ToArray();

    private static async ValueTask<object?> UnwrapAsync(object? returned)
    {
        switch (returned)
        {
            case Task task:
                await task;
                var taskType = task.GetType();
                return taskType.IsGenericType && taskType.GetProperty("Result") is { } result && result.PropertyType.Name != "VoidTaskResult"
                    ? result.GetValue(task)
                    : null;
            case ValueTask valueTask:
                await valueTask;
                return null;
            case not null when returned.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(ValueTask<>):
                var asTask = (Task)type.GetMethod(nameof(ValueTask<int>.AsTask))!.Invoke(returned, null)!;
                await asTask;
                return asTask.GetType().GetProperty("Result")!.GetValue(asTask);
            default:
                return returned;
        }
    }

    /// <summary>A <c>[KafkaOutput]</c> value: a string, bytes or an object (JSON), or an array of them.</summary>
    private IReadOnlyList<OutgoingMessage> ToMessages(object result)
    {
        var values = result is string or byte[] || result is not IEnumerable ? [result] : ((IEnumerable)result).Cast<object?>().Where(v => v is not null).ToList();
        return values.Select(value => new OutgoingMessage(null, value switch
        {
            byte[] bytes => bytes,
            string text => Encoding.UTF8.GetBytes(text),
            _ => JsonSerializer.SerializeToUtf8Bytes(value, value!.GetType(), serializer.Value.Json),
        })).ToList();
    }

    /// <summary>Converts a named value (a route parameter is a string) to the parameter's type.</summary>
    private static object? Convert(object? value, ParameterInfo parameter, string function)
    {
        var target = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        if (value is null || target.IsInstanceOfType(value))
        {
            return value;
        }

        try
        {
            return System.ComponentModel.TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value.ToString()!);
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException || e.InnerException is FormatException or OverflowException)
        {
            throw new FunctionBindingException($"Function '{function}': '{value}' is not a valid {target.Name} for parameter '{parameter.Name}'.", e);
        }
    }
}
