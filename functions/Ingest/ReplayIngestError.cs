using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Http;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// <c>POST /api/ingest-errors/{id}/replay</c> (admin key): submits a refused payload again through
/// the same path as its door (<see cref="PayloadIngest"/>: format recognised again, the device rule
/// of the device that sent it), after a fix or once its format is understood, and records the
/// outcome on the error row. Accepted: a new payload (door <c>replay</c>) with its readings; the
/// refused payload's row stays as it was. Only a payload stored whole (at most 4 KiB) can be
/// replayed. A replay refused again is not added to the ledger a second time: its outcome is on the row.
/// </summary>
public sealed class ReplayIngestError(PayloadLedgerStore store, PayloadIngest ingest)
{
    public const string Door = PayloadIngest.ReplayDoor;

    [Function(nameof(ReplayIngestError))]
    public async Task<IResult> RunAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "ingest-errors/{id:long}/replay")] HttpRequest request,
        long id,
        CancellationToken cancellationToken)
    {
        var stored = await store.GetForReplayAsync(id, cancellationToken);
        if (stored is null)
        {
            return Problems.Message(StatusCodes.Status404NotFound, "id", $"There is no ingest error {id}.");
        }

        if (!stored.IsWhole)
        {
            const string NotWhole = "not replayable: the payload was not stored whole (refused before it was read, or larger than 4 KiB)";
            await store.RecordReplayAsync(id, NotWhole, null, cancellationToken);
            return Problems.Message(StatusCodes.Status409Conflict, null, $"Ingest error {id} is {NotWhole}.");
        }

        // The device rule of the door it came through: a signed or MQTT device writes only its own sensors.
        var sender = stored.Door is PayloadIngest.SignedHttpDoor or PayloadIngest.MqttDoor ? stored.DeviceId : null;
        var frame = stored.Format == "frame";
        var outcome = await ingest.IngestAsync(
            new PayloadSubmission(Door, sender, frame ? stored.DeviceId : null, stored.Source, frame, stored.Content),
            recordRefusal: false, cancellationToken);
        var text = outcome.IsAccepted
            ? $"accepted: {outcome.Accepted} reading(s), format {outcome.Format}"
            : $"{(outcome.Status == StatusCodes.Status503ServiceUnavailable ? "unavailable" : "refused")} ({outcome.Reason}): {outcome.Errors[0].Message}";
        if (outcome.Status != StatusCodes.Status503ServiceUnavailable)
        {
            await store.RecordReplayAsync(id, text, outcome.IsAccepted ? outcome.PayloadId : null, cancellationToken);
        }

        return outcome.Status == StatusCodes.Status503ServiceUnavailable
            ? Problems.Message(StatusCodes.Status503ServiceUnavailable, null, outcome.Errors[0].Message)
            : Results.Json(new ReplayBody(id, outcome.IsAccepted, text, outcome.IsAccepted ? outcome.PayloadId : null, outcome.Accepted, outcome.Errors));
    }

    public sealed record ReplayBody(long Id, bool Accepted, string Outcome, Guid? PayloadId, int Readings, IReadOnlyList<Domain.Ingest.ReadingError> Errors);
}
