using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SensorPipeline.Functions.Health;

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
