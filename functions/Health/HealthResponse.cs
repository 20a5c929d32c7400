using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SensorPipeline.Functions.Health;

/// <summary>The health endpoints' body: overall status and each check's status, description and data, as JSON.</summary>
public static class HealthResponse
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data.Count == 0 ? null : e.Value.Data.ToDictionary(d => d.Key, d => d.Value.ToString()),
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json), context.RequestAborted);
    }

    public static HealthCheckOptions Options(Func<HealthCheckRegistration, bool>? predicate = null) => new()
    {
        Predicate = predicate,
        ResponseWriter = WriteAsync,
    };
}
