using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Domain.Ingest.Formats;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Query;

/// <summary>
/// <c>GET /api/ingest-errors?device=&amp;reason=&amp;from=&amp;to=&amp;limit=&amp;before=</c> (function
/// key): refused payloads, newest first, with their reasons (the per-field errors the door
/// answered with), door, device and an excerpt; <c>next</c> is the <c>before</c> of the next page.
/// <c>GET /api/formats</c>: the decoders and the rollout views (per format and day; devices in more
/// than one format; devices whose refusals rose after a format change).
/// </summary>
public sealed class IngestErrorQueries(PayloadLedgerStore store, TimeProvider time)
{
    [Function("ListIngestErrors")]
    public async Task<IResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ingest-errors")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        IngestErrorFilter filter;
        try
        {
            var before = QueryParameters.Int(request, "before", 0, 1, int.MaxValue);
            filter = new IngestErrorFilter(
                NonEmpty(request.Query["device"]),
                NonEmpty(request.Query["reason"]),
                QueryParameters.Time(request, "from"),
                QueryParameters.Time(request, "to"),
                before == 0 ? null : before,
                QueryParameters.Int(request, "limit", 100, 1, 1000));
        }
        catch (QueryParameterException e)
        {
            return e.ToResult();
        }

        using var activity = PipelineTracing.Query.StartActivity("ListIngestErrors");
        var errors = await store.ListAsync(filter, cancellationToken);
        return Results.Json(new ErrorsBody(errors, errors.Count == filter.Limit ? errors[^1].Id : null));
    }

    [Function("GetFormats")]
    public async Task<IResult> FormatsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "formats")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int days;
        try
        {
            days = QueryParameters.Int(request, "days", 30, 1, 3660);
        }
        catch (QueryParameterException e)
        {
            return e.ToResult();
        }

        using var activity = PipelineTracing.Query.StartActivity("GetFormats");
        var since = new DateTimeOffset(time.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero).AddDays(1 - days);
        var rollout = await store.RolloutAsync(since, 1000, cancellationToken);
        return Results.Json(new FormatsBody(
            PayloadDecoders.All.Select(d => new DecoderItem(d.Name, d.Version)).ToList(),
            rollout.Daily, rollout.MultiFormat, rollout.RefusalsRose));
    }

    private static string? NonEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    public sealed record ErrorsBody(IReadOnlyList<IngestErrorRow> Errors, long? Next);

    public sealed record DecoderItem(string Name, int Version);

    public sealed record FormatsBody(IReadOnlyList<DecoderItem> Decoders, IReadOnlyList<FormatDay> Daily, IReadOnlyList<DeviceFormats> MultiFormat, IReadOnlyList<RefusalChange> RefusalsRose);
}
