using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Calibrate;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Reconcile;

/// <summary>
/// Finds raw readings that have had no calibrated value for longer than the grace period (a lost
/// message, a crash between insert and publish) and sends them through calibration again; logs and
/// exposes how many there were and how old the oldest was. Runs once across replicas.
/// </summary>
public sealed partial class ReconcileUncalibrated(
    RawReadingStore store,
    KafkaPublisher publisher,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ReconcileUncalibrated> logger)
{
    [Function(nameof(ReconcileUncalibrated))]
    public async Task RunAsync([TimerTrigger("%ReconcileSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var report = await store.FindUncalibratedAsync(o.ReconcileGracePeriod, o.ReconcileLookback, o.ReconcileBatchLimit, cancellationToken);
        var oldestAge = report.OldestReceivedAt is { } oldest ? (time.GetUtcNow() - oldest).TotalSeconds : 0;
        PipelineTelemetry.ReportUncalibrated(report.Total, oldestAge);
        if (report.Total == 0)
        {
            LogNothing(logger, timer.IsPastDue);
            return;
        }

        await publisher.PublishAsync(o.RealtimeTopic, CalibrationMessages.From(report.Page), cancellationToken);
        PipelineTelemetry.ReadingsRepublished.Add(report.Page.Count);
        LogRepublished(logger, report.Total, oldestAge, report.Page.Count, timer.IsPastDue);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Reconcile: no uncalibrated readings past the grace period (past due: {PastDue})")]
    private static partial void LogNothing(ILogger logger, bool pastDue);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Reconcile: {Count} uncalibrated reading(s), oldest received {OldestAgeSeconds:0} s ago; republished {Republished} (past due: {PastDue})")]
    private static partial void LogRepublished(ILogger logger, long count, double oldestAgeSeconds, int republished, bool pastDue);
}
