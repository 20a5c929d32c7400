using System.Diagnostics;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Calibrate;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Reconcile;

/// <summary>
/// Works through recalibration jobs: takes a running job (a lease in the database, so one producer
/// per job across replicas, and another takes over when its holder dies), pages through its raw
/// readings by keyset, publishes each page to the historical topic, and records the cursor after
/// every page, so a restart resumes where it stopped (a page may be sent twice; duplicates are
/// harmless). It keeps at most <c>RecalibrationMaxInFlight</c> readings published but not yet
/// consumed, and marks jobs completed once every published reading was recalculated.
/// </summary>
public sealed partial class RecalibrationProducer(
    RecalibrationStore jobs,
    RollupRefresher rollups,
    KafkaPublisher publisher,
    KafkaLagReader lagReader,
    IOptions<PipelineOptions> options,
    ILogger<RecalibrationProducer> logger)
{
    private static readonly string Owner = $"{Environment.MachineName}/{Environment.ProcessId}";

    [Function(nameof(RecalibrationProducer))]
    public async Task RunAsync([TimerTrigger("%RecalibrationSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        foreach (var done in await jobs.CompleteDrainedAsync(options.Value.RecalibrationDrainTimeout, cancellationToken))
        {
            // Continuous aggregates (TimescaleDB) of the recalculated range are stale until refreshed.
            await rollups.RefreshRollupsAsync(done.From, done.To, cancellationToken);
            LogCompleted(logger, done.Id, done.Published);
        }

        var job = await jobs.ClaimAsync(Owner, options.Value.RecalibrationLeaseTimeout, cancellationToken);
        if (job is null)
        {
            return;
        }

        await ProduceAsync(job, cancellationToken);
    }

    private async Task ProduceAsync(RecalibrationJob job, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var budget = Stopwatch.StartNew();
        LogResuming(logger, job.Id, job.Published, job.Total);
        while (budget.Elapsed < o.RecalibrationRunBudget)
        {
            // Backpressure: keep the published-but-unconsumed window bounded.
            while (await lagReader.GetTotalLagAsync(o.HistoricalTopic, o.HistoricalGroup, cancellationToken) > o.RecalibrationMaxInFlight)
            {
                if (!await jobs.HeartbeatAsync(job.Id, Owner, cancellationToken))
                {
                    return;
                }

                await Task.Delay(200, cancellationToken);
            }

            var page = await jobs.NextPageAsync(job, o.RecalibrationPageSize, cancellationToken);
            if (page.Count == 0)
            {
                await jobs.MarkDrainingAsync(job.Id, Owner, cancellationToken);
                await AwaitCompletionAsync(job.Id, budget, cancellationToken);
                return;
            }

            await publisher.PublishAsync(o.HistoricalTopic, CalibrationMessages.From(page), cancellationToken);
            var last = page[^1];
            var advanced = await jobs.AdvanceAsync(job.Id, Owner, last.SensorId, last.RecordedAt, page.Count, page.Count < o.RecalibrationPageSize, cancellationToken);
            if (advanced is null)
            {
                LogStopped(logger, job.Id);
                return;
            }

            job = advanced;
            if (job.State != RecalibrationJob.Running)
            {
                LogPublished(logger, job.Id, job.Published);
                await AwaitCompletionAsync(job.Id, budget, cancellationToken);
                return;
            }
        }
    }

    /// <summary>
    /// Once everything is published, completes the job as soon as the historical group has consumed
    /// it and every reading is recalculated — not at the next timer run — so a job is never seen
    /// draining with nothing left. Polls the (cheap) consumer lag, and counts only when it is zero;
    /// gives up after <c>RecalibrationDrainTimeout</c> (at most 30 s), leaving it to the next runs.
    /// </summary>
    private async Task AwaitCompletionAsync(long jobId, Stopwatch budget, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var wait = Stopwatch.StartNew();
        var limit = TimeSpan.FromTicks(Math.Min(o.RecalibrationDrainTimeout.Ticks, TimeSpan.FromSeconds(30).Ticks));
        while (wait.Elapsed < limit && budget.Elapsed < o.RecalibrationRunBudget)
        {
            if (await lagReader.GetTotalLagAsync(o.HistoricalTopic, o.HistoricalGroup, cancellationToken) == 0 &&
                await jobs.TryCompleteAsync(jobId, cancellationToken) is { } done)
            {
                await rollups.RefreshRollupsAsync(done.From, done.To, cancellationToken);
                LogCompleted(logger, done.Id, done.Published);
                return;
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Recalibration {JobId}: producing from {Published} of {Total}")]
    private static partial void LogResuming(ILogger logger, long jobId, long published, long total);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Recalibration {JobId}: all {Published} readings published; waiting for calibration")]
    private static partial void LogPublished(ILogger logger, long jobId, long published);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Recalibration {JobId}: completed, {Published} readings recalculated")]
    private static partial void LogCompleted(ILogger logger, long jobId, long published);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Recalibration {JobId}: cancelled or taken over; stopping")]
    private static partial void LogStopped(ILogger logger, long jobId);
}
