using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace SensorPipeline.Functions.Runtime.Hosting;

/// <summary>
/// Invokes a function: a new DI scope per invocation, the class built from it, parameters bound
/// by type (trigger value, <see cref="CancellationToken"/>, <see cref="FunctionContext"/>, named
/// values such as route parameters, then services), the result awaited.
/// </summary>
public sealed class FunctionInvoker(IServiceScopeFactory scopes)
{
    public static readonly ActivitySource ActivitySource = new("SensorPipeline.Functions.Runtime");

    public async Task<object?> InvokeAsync(
        FunctionDescriptor function,
        object? triggerValue,
        IReadOnlyDictionary<string, object?>? namedValues,
        CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, function.Type);
        var parameters = function.Method.GetParameters();
        var arguments = new object?[parameters.Length];
        var context = new FunctionContext(function.Name, Guid.NewGuid().ToString("N"));
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            if (parameter == function.TriggerParameter)
            {
                arguments[i] = triggerValue;
            }
            else if (parameter.ParameterType == typeof(CancellationToken))
            {
                arguments[i] = cancellationToken;
            }
            else if (parameter.ParameterType == typeof(FunctionContext))
            {
                arguments[i] = context;
            }
            else if (namedValues is not null && parameter.Name is not null && namedValues.TryGetValue(parameter.Name, out var named))
            {
                arguments[i] = Convert(named, parameter, function.Name);
            }
            else
            {
                arguments[i] = services.GetService(parameter.ParameterType)
                    ?? (parameter.HasDefaultValue ? parameter.DefaultValue : throw new InvalidOperationException(
                        $"Function '{function.Name}': cannot bind parameter '{parameter.Name}' of type {parameter.ParameterType.Name}."));
            }
        }

        object? returned;
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            returned = function.Method.Invoke(instance, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }

        switch (returned)
        {
            case Task task:
                await task;
                var resultProperty = task.GetType().GetProperty("Result");
                return resultProperty is not null && task.GetType().IsGenericType && resultProperty.PropertyType.Name != "VoidTaskResult"
                    ? resultProperty.GetValue(task)
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

/// <summary>A value could not be bound to a function parameter (for HTTP: the request is bad).</summary>
public sealed class FunctionBindingException(string message, Exception? inner = null) : Exception(message, inner);
