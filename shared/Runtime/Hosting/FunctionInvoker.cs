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
                arguments[i] = named;
            }
            else
            {
                arguments[i] = services.GetService(parameter.ParameterType)
                    ?? (parameter.HasDefaultValue ? parameter.DefaultValue : throw new InvalidOperationException(
                        $"Function '{function.Name}': cannot bind parameter '{parameter.Name}' of type {parameter.ParameterType.Name}."));
            }
        }

        object? returned;
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
            default:
                return returned;
        }
    }
}
