using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Reconcile;

/// <summary>
/// Every silent wait has a clock: where <see cref="RecalibrationProducer"/> runs, each running job is
/// checked every quarter of <c>KafkaStallTimeout</c> (1–10 s). Publishing a page is progress; when
/// none happened for half the timeout, the job's calibrated count is taken too (one count query),
/// and a change there is progress. No progress of either kind for the timeout is a stall: readiness
/// fails and an error is logged once a minute (e.g. no producer holds the job, or the historical
/// consumer does not drain, so the producer waits on its in-flight bound forever).
/// </summary>
public sealed partial class RecalibrationHealth(
    RecalibrationStore jobs,
    FunctionCatalog catalog,
    IOptions<ConsumerHealthOptions> stall,
    TimeProvider time,
    ILogger<RecalibrationHealth> logger) : BackgroundService
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private readonly Dictionary<long, Tracked> _tracked = [];
    private IReadOnlyList<RecalibrationJobHealth> _current = [];

    /// <summary>Running jobs as last checked (empty where the producer does not run).</summary>
    public IReadOnlyList<RecalibrationJobHealth> Current => Volatile.Read(ref _current);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (catalog.Enabled.All(f => f.Name != nameof(RecalibrationProducer)))
        {
            return;
        }

        var timeout = stall.Value.StallTimeout;
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.TicksPerSecond, 10 * TimeSpan.TicksPerSecond)), time);
        do
        {
            try
            {
                await CheckAsync(timeout, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The database is down: its own readiness check says so.
                LogCheckFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task CheckAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var running = (await jobs.ListActiveAsync(cancellationToken)).Where(j => j.State == RecalibrationJob.Running).ToList();
        var now = time.GetUtcNow();
        var result = new List<RecalibrationJobHealth>(running.Count);
        foreach (var job in running)
        {
            if (!_tracked.TryGetValue(job.Id, out var t))
            {
                _tracked[job.Id] = t = new Tracked { Published = job.Published, LastProgressAt = now };
            }

            if (job.Published != t.Published)
            {
                t.Published = job.Published;
                t.LastProgressAt = now;
            }
            else if (now - t.LastProgressAt > timeout / 2)
            {
                var calibrated = (await jobs.CountProgressAsync(job, cancellationToken)).Calibrated;
                if (t.Calibrated is { } before && calibrated != before)
                {
                    t.LastProgressAt = now;
                }

                t.Calibrated = calibrated;
            }

            var stalled = now - t.LastProgressAt > timeout;
            var reason = stalled
                ? $"recalibration {job.Id} is running with {job.Published} of {job.Total} published and {t.Calibrated} calibrated, and neither moved for {(now - t.LastProgressAt).TotalSeconds:0} s (KafkaStallTimeout); is a RecalibrationProducer running, and is CalibrateHistorical consuming?"
                : null;
            if (stalled && (t.LoggedAt is null || now - t.LoggedAt >= LogEvery))
            {
                t.LoggedAt = now;
                LogStalled(logger, job.Id, reason!);
            }
            else if (!stalled && t.LoggedAt is not null)
            {
                t.LoggedAt = null;
                LogRecovered(logger, job.Id);
            }

            result.Add(new RecalibrationJobHealth(job.Id, job.SensorId, job.Total, job.Published, t.Calibrated, t.LastProgressAt, stalled, reason));
        }

        foreach (var gone in _tracked.Keys.Except(running.Select(j => j.Id)).ToList())
        {
            _tracked.Remove(gone);
        }

        Volatile.Write(ref _current, result);
    }

    private sealed class Tracked
    {
        public long Published { get; set; }
        public long? Calibrated { get; set; }
        public DateTimeOffset LastProgressAt { get; set; }
        public DateTimeOffset? LoggedAt { get; set; }
    }

    [LoggerMessage(EventId = 404, Level = LogLevel.Error, Message = "Recalibration {JobId} is stalled: {Reason}")]
    private static partial void LogStalled(ILogger logger, long jobId, string reason);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "Recalibration {JobId} is moving again")]
    private static partial void LogRecovered(ILogger logger, long jobId);

    [LoggerMessage(EventId = 406, Level = LogLevel.Debug, Message = "Recalibration health check failed: {Reason}")]
    private static partial void LogCheckFailed(ILogger logger, string reason);
}
