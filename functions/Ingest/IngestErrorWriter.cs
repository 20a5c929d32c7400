using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Writes the refusals <see cref="IngestErrorLedger"/> queued, in batches, and once a second the
/// counts of those not stored. Best-effort: when the database does not answer, the batch is
/// counted as not stored and dropped (a refusal is never retried ahead of new ones).
/// </summary>
public sealed partial class IngestErrorWriter(IngestErrorLedger ledger, PayloadLedgerStore store, TimeProvider time, ILogger<IngestErrorWriter> logger)
    : BackgroundService
{
    private const int BatchSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<IngestRefusal>(BatchSize);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                tick.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    await ledger.Queue.WaitToReadAsync(tick.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // A second without refusals: flush the not-stored counts.
                }

                while (batch.Count < BatchSize && ledger.Queue.TryRead(out var refusal))
                {
                    batch.Add(refusal);
                }

                await WriteAsync(batch, stoppingToken);
                batch.Clear();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task WriteAsync(List<IngestRefusal> batch, CancellationToken cancellationToken)
    {
        if (batch.Count > 0)
        {
            try
            {
                await store.WriteRefusalsAsync(batch, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Best-effort, whatever went wrong: the host must not stop for the error ledger.
                LogWriteFailed(logger, batch.Count, e.Message);
                ledger.CountNotStored(batch);
            }
        }

        var notStored = ledger.TakeNotStored();
        if (notStored.Count > 0)
        {
            try
            {
                await store.AddNotStoredAsync(notStored, time.GetUtcNow(), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogWriteFailed(logger, 0, e.Message);
                ledger.ReturnNotStored(notStored);
            }
        }
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Could not write {Count} refused payload(s) to the error ledger (counted as not stored): {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, int count, string reason);
}
