using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// Reads every consumer group's lag every <see cref="Interval"/> into <see cref="LagHistory"/>, so
/// the pipeline view has a trend and a sparkline the first time it is opened (the one lag reader's
/// admin requests: a few per interval, whatever the number of viewers). Only in an instance that
/// serves the view: the pods that only consume ask the cluster nothing more.
/// </summary>
public sealed partial class LagSampler(KafkaLagReader kafka, LagHistory history, FunctionCatalog catalog, TimeProvider time, ILogger<LagSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!catalog.Enabled.Any(f => f.Name == nameof(PipelineViewFunction.GetPipelineView)))
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                history.Record(await kafka.ReadAsync(stoppingToken));
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogSampleFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1600, Level = LogLevel.Debug, Message = "Sampling consumer lag failed: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}
