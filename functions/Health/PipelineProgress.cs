using SensorPipeline.Functions.Ingest;
using SensorPipeline.Functions.Reconcile;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Timers;

namespace SensorPipeline.Functions.Health;

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
