using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Http;

public static class HttpFunctionEndpoints
{
    /// <summary>The URL path of an HTTP function: <c>/{routePrefix}/{route}</c>, the route defaulting to the function's name.</summary>
    public static string RouteOf(FunctionDescriptor function, HttpTriggerAttribute trigger, string routePrefix)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(routePrefix);
        return "/" + string.Join('/', new[] { routePrefix.Trim('/'), (trigger.Route ?? function.Name).Trim('/') }.Where(s => s.Length > 0));
    }

    /// <summary>The HTTP methods of a function; without any, every method (as the Functions host).</summary>
    public static IReadOnlyList<string> MethodsOf(HttpTriggerAttribute trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        return trigger.Methods is { Length: > 0 } methods
            ? methods.Select(m => m.ToUpperInvariant()).ToArray()
            : ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    }

    /// <summary>
    /// Maps every enabled HTTP-triggered function (the ASP.NET Core integration's model:
    /// <see cref="HttpRequest"/> in, <see cref="IResult"/> or <see cref="IActionResult"/> out).
    /// </summary>
    public static IEndpointRouteBuilder MapHttpFunctions(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var catalog = services.GetRequiredService<FunctionCatalog>();
        var invoker = services.GetRequiredService<FunctionInvoker>();
        var keys = services.GetRequiredService<FunctionKeyValidator>();
        var prefix = services.GetRequiredService<IOptions<FunctionsHostOptions>>().Value.Http.RoutePrefix;
        foreach (var (function, trigger) in catalog.EnabledWith<HttpTriggerAttribute>())
        {
            endpoints.MapMethods(RouteOf(function, trigger, prefix), MethodsOf(trigger), async (HttpContext context) =>
            {
                if (!keys.IsAuthorized(context.Request, trigger.AuthLevel))
                {
                    return Results.Problem("A valid key is required (x-functions-key header or code query parameter).", statusCode: StatusCodes.Status401Unauthorized);
                }

                var named = context.Request.RouteValues.ToDictionary(
                    kv => kv.Key, kv => (object?)kv.Value?.ToString(), StringComparer.OrdinalIgnoreCase);
                object? result;
                try
                {
                    result = await invoker.InvokeAsync(
                        function,
                        new InvocationInput(context.Request, named, () => BindingData(context.Request, named)),
                        context.RequestAborted);
                }
                catch (FunctionBindingException e)
                {
                    return Results.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
                }

                return result switch
                {
                    IResult r => r,
                    IActionResult action => new ActionResultAdapter(action),
                    null => Results.NoContent(),
                    var value => Results.Ok(value),
                };
            }).WithName(function.Name);
        }

        return endpoints;
    }

    /// <summary>HTTP trigger metadata as the Functions host gives it: route values, <c>Query</c> and <c>Headers</c>.</summary>
    private static IReadOnlyDictionary<string, object?> BindingData(HttpRequest request, Dictionary<string, object?> route)
    {
        var data = new Dictionary<string, object?>(route, StringComparer.OrdinalIgnoreCase)
        {
            ["Query"] = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            ["Headers"] = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
        };
        return data;
    }

    /// <summary>Runs an MVC <see cref="IActionResult"/> (OkObjectResult, ...) as the ASP.NET Core integration does.</summary>
    private sealed class ActionResultAdapter(IActionResult action) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) =>
            action.ExecuteResultAsync(new ActionContext(httpContext, httpContext.GetRouteData(), new ActionDescriptor()));
    }
}
