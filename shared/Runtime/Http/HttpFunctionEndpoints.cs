using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SensorPipeline.Functions.Runtime.Hosting;

namespace SensorPipeline.Functions.Runtime.Http;

public static class HttpFunctionEndpoints
{
    /// <summary>Maps every enabled HTTP-triggered function to <c>/{routePrefix}/{route}</c>.</summary>
    public static IEndpointRouteBuilder MapHttpFunctions(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var catalog = services.GetRequiredService<FunctionCatalog>();
        var invoker = services.GetRequiredService<FunctionInvoker>();
        var keys = services.GetRequiredService<FunctionKeyValidator>();
        var prefix = services.GetRequiredService<IOptions<FunctionsHostOptions>>().Value.Http.RoutePrefix.Trim('/');
        foreach (var (function, trigger) in catalog.EnabledWith<HttpTriggerAttribute>())
        {
            var route = "/" + string.Join('/', new[] { prefix, (trigger.Route ?? function.Name).Trim('/') }.Where(s => s.Length > 0));
            var methods = trigger.Methods.Count == 0 ? ["GET", "POST"] : trigger.Methods.Select(m => m.ToUpperInvariant()).ToArray();
            endpoints.MapMethods(route, methods, async (HttpContext context) =>
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
                    result = await invoker.InvokeAsync(function, context.Request, named, context.RequestAborted);
                }
                catch (FunctionBindingException e)
                {
                    return Results.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
                }

                return result switch
                {
                    IResult r => r,
                    null => Results.NoContent(),
                    var value => Results.Ok(value),
                };
            }).WithName(function.Name);
        }

        return endpoints;
    }
}
