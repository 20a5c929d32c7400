using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SensorPipeline.Functions.Ingest;
using SensorPipeline.Functions.Reconcile;
using SensorPipeline.Functions.Runtime.Hosting;
using SensorPipeline.Functions.Runtime.Kafka;
using SensorPipeline.Functions.Runtime.Timers;

namespace SensorPipeline.Functions.Hosting;

/// <summary>Whether everything that should move does: the one answer readiness, /api/status and the gauges share.</summary>
public sealed record ProgressReport(
    bool Stalled,
    double StallTimeoutSeconds,
    IReadOnlyList<ConsumerHealthState> Consumers,
    IReadOnlyList<TimerHealthState> Timers,
    IReadOnlyList<RecalibrationJobHealth> Recalibrations,
    BacklogHealth IngestBacklog)
{
    /// <summary>What is stalled in this process, by name: function, timer, recalibration job, ingest.</summary>
    public IReadOnlyDictionary<string, string> StalledHere()
    {
        var stalled = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in Consumers.Where(c => c.RunsHere && c.Stalled))
        {
            stalled[c.Function] = c.Reason ?? "stalled";
        }

        foreach (var t in Timers.Where(t => t.Stalled))
        {
            stalled[t.Function] = t.Reason ?? "stalled";
        }

        foreach (var r in Recalibrations.Where(r => r.Stalled))
        {
            stalled[$"recalibration {r.Id}"] = r.Reason ?? "stalled";
        }

        if (IngestBacklog.Stalled)
        {
            stalled[nameof(IngestReadings)] = IngestBacklog.Reason ?? "stalled";
        }

        return stalled;
    }
}

/// <summary>Collects the progress records of the runtime (Kafka consumers, timers) and of the pipeline (recalibration jobs, ingest backlog).</summary>
public sealed class PipelineProgress(ConsumerHealth consumers, TimerHealth timers, RecalibrationHealth recalibrations, RawBacklog backlog)
{
    public ProgressReport Read()
    {
        var consumerStates = consumers.Current();
        var timerStates = timers.Current();
        var jobs = recalibrations.Current;
        var ingest = backlog.Health;
        var stalled = consumerStates.Any(c => c.RunsHere && c.Stalled) || timerStates.Any(t => t.Stalled) || jobs.Any(j => j.Stalled) || ingest.Stalled;
        return new ProgressReport(stalled, consumers.StallTimeout.TotalSeconds, consumerStates, timerStates, jobs, ingest);
    }
}

/// <summary>
/// Ready only while everything this instance runs makes progress: a Kafka-triggered function with
/// lag and no progress for <c>KafkaStallTimeout</c> (or that cannot join its group), a timer that
/// missed two occurrences, a recalibration job that stopped moving, or an ingest backlog over its
/// limit that does not shrink makes it unready, with the reason per name in the answer's data.
/// Idle is healthy. It recovers by itself when the stall clears.
/// </summary>
public sealed class ProgressHealthCheck(PipelineProgress progress) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var stalled = progress.Read().StalledHere();
        return Task.FromResult(stalled.Count == 0
            ? HealthCheckResult.Healthy("Every function here makes progress or is idle.")
            : HealthCheckResult.Unhealthy(
                "Stalled: " + string.Join("; ", stalled.Select(s => $"{s.Key}: {s.Value}")),
                data: stalled.ToDictionary(s => s.Key, s => (object)s.Value)));
    }
}

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
