using Microsoft.Extensions.Options;
using SensorPipeline.Functions.Runtime.Hosting;
using SensorPipeline.Functions.Runtime.Kafka;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Backpressure for ingest: how many raw readings are accepted but not yet stored (the lag of
/// <c>PersistRawGroup</c> on the raw topic), refreshed every second where IngestReadings runs. Past
/// <c>IngestMaxRawBacklog</c> new requests get 503, so a burst cannot outrun retention (the
/// development broker keeps only ~5 MiB per partition and would drop accepted readings).
/// </summary>
public sealed partial class RawBacklog(
    KafkaLagReader lagReader,
    FunctionCatalog catalog,
    IOptions<PipelineOptions> options,
    ILogger<RawBacklog> logger) : BackgroundService
{
    private long _backlog;

    /// <summary>The raw backlog last measured (0 until measured, and when the check is off).</summary>
    public long Current => Volatile.Read(ref _backlog);

    public bool IsOverLimit => options.Value.IngestMaxRawBacklog > 0 && Current > options.Value.IngestMaxRawBacklog;

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
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Keep the last value: a broker outage shows up in the produce path anyway.
                LogUnavailable(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Debug, Message = "Raw backlog unavailable: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);
}
