using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Functions.Health;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Query;

/// <summary>
/// <c>GET /api/status</c> (function key): the pipeline at a glance — consumer lag per function,
/// group and topic (as KEDA computes it), dead-letter topic sizes, uncalibrated readings past the
/// grace period, running recalibrations, the database mode, and <c>progress</c>: what readiness
/// reads (per Kafka-triggered function: partitions here, last batch, lag, stalled and why; timers;
/// recalibration jobs; the ingest backlog), and <c>ingestErrors</c>: refusals in the error ledger by
/// reason and those counted but not stored (over a source's rate).
/// </summary>
public sealed partial class PipelineStatus(
    KafkaLagReader kafka,
    PipelineProgress progress,
    ReadingQueryStore queries,
    RawReadingStore raw,
    RecalibrationStore recalibrations,
    PayloadLedgerStore ledger,
    SensorPipeline.Functions.Calibrate.CalibrationFileState calibrationFile,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<PipelineStatus> logger)
{
    [Function("GetStatus")]
    public async Task<IResult> RunAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "status")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        using var activity = PipelineTracing.Query.StartActivity("GetStatus");
        var lagTask = kafka.ReadAsync(cancellationToken);
        var o = options.Value;
        var mode = "unknown";
        UncalibratedReport? uncalibrated = null;
        var jobs = new List<RecalibrationItem>();
        string? databaseError = null;
        SensorPipeline.Functions.Calibrate.CalibrationFileState.Snapshot? file = null;
        IngestErrorCounts? ingestErrors = null;
        try
        {
            ingestErrors = await ledger.CountAsync(cancellationToken);
            file = await calibrationFile.ReadAsync(cancellationToken);
            mode = await queries.DatabaseModeAsync(cancellationToken);
            // Limit 0: only the count and the oldest receive time, no page of readings.
            uncalibrated = await raw.FindUncalibratedAsync(o.ReconcileGracePeriod, o.ReconcileLookback, 0, cancellationToken);
            foreach (var job in await recalibrations.ListActiveAsync(cancellationToken))
            {
                // Few jobs run at once: one count per job is cheap. Total is the readings in the range
                // now (calibrated + remaining), as GET /api/recalibrations/{id} shows it.
                var (calibrated, remaining) = await recalibrations.CountProgressAsync(job, cancellationToken);
                jobs.Add(new RecalibrationItem(job.Id, job.SensorId, job.State, job.From, job.To, calibrated + remaining, job.Published, calibrated));
            }
        }
        catch (Npgsql.NpgsqlException e)
        {
            // The database is down: Kafka lag and progress (what is stalled, and why) still answer.
            LogDatabaseFailed(logger, e.Message);
            databaseError = $"{e.GetType().Name}: {e.Message}";
        }

        KafkaLagSnapshot? lag = null;
        string? kafkaError = null;
        try
        {
            lag = await lagTask;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogKafkaFailed(logger, e.Message);
            kafkaError = $"{e.GetType().Name}: {e.Message}";
        }

        var now = time.GetUtcNow();
        return Results.Json(new StatusBody(
            now,
            new DatabaseItem(mode, databaseError),
            lag?.Consumers ?? [],
            lag?.DeadLetters ?? [],
            kafkaError,
            new UncalibratedItem(
                uncalibrated?.Total ?? 0,
                uncalibrated?.OldestReceivedAt,
                uncalibrated?.OldestReceivedAt is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0,
                o.ReconcileGracePeriod.TotalSeconds,
                o.ReconcileLookback.TotalSeconds),
            jobs,
            progress.Read(),
            file,
            ingestErrors ?? new IngestErrorCounts([], 0)));
    }

    public sealed record StatusBody(
        DateTimeOffset GeneratedAt,
        DatabaseItem Database,
        IReadOnlyList<ConsumerLag> Consumers,
        IReadOnlyList<DeadLetterCount> DeadLetters,
        string? KafkaError,
        UncalibratedItem Uncalibrated,
        IReadOnlyList<RecalibrationItem> Recalibrations,
        ProgressReport Progress,
        SensorPipeline.Functions.Calibrate.CalibrationFileState.Snapshot? CalibrationFile,
        IngestErrorCounts IngestErrors);

    /// <summary>A running (publishing) or draining (waiting for its last calibrations) recalibration job.</summary>
    public sealed record RecalibrationItem(long Id, string? SensorId, string State, DateTimeOffset From, DateTimeOffset To, long Total, long Published, long Calibrated);

    /// <summary>The database mode, or <c>unknown</c> with the error when it did not answer.</summary>
    public sealed record DatabaseItem(string Mode, string? Error);

    /// <summary>Readings received between lookback and grace period ago with no calibrated value.</summary>
    public sealed record UncalibratedItem(long Count, DateTimeOffset? OldestReceivedAt, double OldestAgeSeconds, double GracePeriodSeconds, double LookbackSeconds);

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "Status: reading Kafka lag failed: {Reason}")]
    private static partial void LogKafkaFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Status: the database did not answer: {Reason}")]
    private static partial void LogDatabaseFailed(ILogger logger, string reason);
}
