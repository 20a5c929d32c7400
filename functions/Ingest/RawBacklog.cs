using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Backpressure for ingest: how many raw readings are accepted but not yet stored (the lag of
/// <c>PersistRawGroup</c> on the raw topic), refreshed every second where IngestReadings runs. Past
/// <c>IngestMaxRawBacklog</c> new requests get 503, so a burst cannot outrun retention (the
/// development broker keeps only ~5 MiB per partition and would drop accepted readings).
/// A backlog over the limit that has not shrunk for <c>KafkaStallTimeout</c> is stalled: ingest
/// refuses and nothing drains it, so readiness fails and an error is logged once a minute.
/// </summary>
public sealed partial class RawBacklog(
    KafkaLagReader lagReader,
    FunctionCatalog catalog,
    IOptions<PipelineOptions> options,
    IOptions<ConsumerHealthOptions> stall,
    TimeProvider time,
    ILogger<RawBacklog> logger) : BackgroundService
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private long _backlog;
    private BacklogHealth _health = new(false, 0, 0, null, null, false, null);
    private long _lowest;
    private DateTimeOffset? _loggedAt;

    /// <summary>The raw backlog last measured (0 until measured, and when the check is off).</summary>
    public long Current => Volatile.Read(ref _backlog);

    public bool IsOverLimit => options.Value.IngestMaxRawBacklog > 0 && Current > options.Value.IngestMaxRawBacklog;

    /// <summary>The backlog as ingest sees it: measured here only where IngestReadings runs.</summary>
    public BacklogHealth Health => Volatile.Read(ref _health);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.IngestMaxRawBacklog <= 0 || catalog.Enabled.All(f => f.Name != nameof(IngestReadings)))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        do
        {
            try
            {
                Volatile.Write(ref _backlog, await lagReader.GetTotalLagAsync(o.RawTopic, o.PersistRawGroup, stoppingToken));
                Evaluate(o.IngestMaxRawBacklog);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Keep the last value: a broker outage shows up in the produce path anyway.
                LogUnavailable(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private void Evaluate(long limit)
    {
        var now = time.GetUtcNow();
        var backlog = Current;
        var last = Health;
        DateTimeOffset? overSince = null, shrankAt = null;
        if (backlog > limit)
        {
            overSince = last.OverLimitSince ?? now;
            if (last.OverLimitSince is null || backlog < _lowest)
            {
                _lowest = backlog;
                shrankAt = now;
            }
            else
            {
                shrankAt = last.LastShrankAt;
            }
        }

        var stalled = shrankAt is { } since && now - since > stall.Value.StallTimeout;
        var reason = stalled
            ? $"ingest answers 503: the raw backlog of {backlog} is over IngestMaxRawBacklog ({limit}) and has not shrunk for {(now - shrankAt!.Value).TotalSeconds:0} s (KafkaStallTimeout); see PersistRawReadings"
            : null;
        Volatile.Write(ref _health, new BacklogHealth(true, backlog, limit, overSince, shrankAt, stalled, reason));
        if (stalled && (_loggedAt is null || now - _loggedAt >= LogEvery))
        {
            _loggedAt = now;
            LogStalled(logger, reason!);
        }
        else if (!stalled && _loggedAt is not null)
        {
            _loggedAt = null;
            LogRecovered(logger, backlog);
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Debug, Message = "Raw backlog unavailable: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 111, Level = LogLevel.Error, Message = "Ingest is stalled: {Reason}")]
    private static partial void LogStalled(ILogger logger, string reason);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "Ingest backlog is draining again ({Backlog})")]
    private static partial void LogRecovered(ILogger logger, long backlog);
}
