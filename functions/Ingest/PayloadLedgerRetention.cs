using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Keeps the ledgers to <c>PayloadRetention</c>: deletes ingest errors (and the not-stored counts)
/// older than that in both modes, and payload rows on plain PostgreSQL (TimescaleDB drops whole
/// payload chunks by its retention policy instead). Bounded batches, each its own short statement,
/// until a batch comes back short or <see cref="MaxBatchesPerRun"/> ran; the next run goes on.
/// Runs once across replicas.
/// </summary>
public sealed partial class PayloadLedgerRetention(
    PayloadLedgerStore store, ReadingQueryStore queries, IOptions<PipelineOptions> options, TimeProvider time, ILogger<PayloadLedgerRetention> logger)
{
    public const int BatchSize = 10_000;
    public const int MaxBatchesPerRun = 100;

    [Function(nameof(PayloadLedgerRetention))]
    public async Task RunAsync([TimerTrigger("%PayloadRetentionSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var retention = options.Value.PayloadRetention;
        if (retention == TimeSpan.Zero)
        {
            return;
        }

        var plain = (await queries.DatabaseModeAsync(cancellationToken)).StartsWith("plain", StringComparison.Ordinal);
        var cutoff = time.GetUtcNow() - retention;
        long total = 0;
        for (var i = 0; i < MaxBatchesPerRun; i++)
        {
            var deleted = await store.DeleteOlderThanAsync(cutoff, BatchSize, payloads: plain, cancellationToken);
            total += deleted;
            if (deleted < BatchSize)
            {
                break;
            }
        }

        LogDeleted(logger, total, cutoff, plain);
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "Payload ledger retention: deleted {Count} row(s) received before {Cutoff:o} (payload rows too: {Plain})")]
    private static partial void LogDeleted(ILogger logger, long count, DateTimeOffset cutoff, bool plain);
}
