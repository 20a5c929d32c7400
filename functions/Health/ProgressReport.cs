using SensorPipeline.Functions.Ingest;
using SensorPipeline.Functions.Reconcile;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Timers;

namespace SensorPipeline.Functions.Health;

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
