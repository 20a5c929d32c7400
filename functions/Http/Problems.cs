using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Functions.Http;

/// <summary>
/// The one error shape of every 4xx (and 503) answer: RFC 9457 problem details
/// (<c>application/problem+json</c>, the ASP.NET Core convention), with the per-field problems as
/// the <c>errors</c> extension (<c>[{"index","field","message"}]</c>, at most
/// <see cref="MaxListedErrors"/>; <c>errorCount</c> says how many there were in all).
/// </summary>
public static class Problems
{
    /// <summary>Most per-field problems listed in one answer (a 5,000-reading batch may have many more).</summary>
    public const int MaxListedErrors = 100;

    /// <summary>A problem with a list of per-field problems; <c>detail</c> summarizes them.</summary>
    public static IResult Of(int status, IReadOnlyList<ReadingError> errors, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var listed = errors.Count <= MaxListedErrors ? errors : errors.Take(MaxListedErrors).ToList();
        var extensions = new Dictionary<string, object?>
        {
            ["errors"] = listed,
            ["errorCount"] = errors.Count,
        };
        if (errors.Count > listed.Count)
        {
            extensions["errorsNotListed"] = errors.Count - listed.Count;
        }

        detail ??= errors.Count switch
        {
            1 => Describe(errors[0]),
            _ when errors.Count > listed.Count => $"{errors.Count} problems; the first {listed.Count} are listed in 'errors'.",
            _ => $"{errors.Count} problems; see 'errors'.",
        };
        return Results.Problem(detail: detail, statusCode: status, extensions: extensions);
    }

    /// <summary>A problem with one message, about one field (or the whole request when <paramref name="field"/> is null).</summary>
    /// <summary>The 413 for a body over the server's limit (every HTTP function that reads a body).</summary>
    public static IResult BodyTooLarge() =>
        Message(StatusCodes.Status413PayloadTooLarge, null, BodyTooLargeText);

    /// <summary>The 413's text (also what the error ledger records for it).</summary>
    public const string BodyTooLargeText = "The body is larger than the limit (host.json http.maxRequestBodySize).";

    /// <summary>The 404 of a read about a sensor with no readings and no calibration parameters.</summary>
    public static IResult UnknownSensor(string sensorId) =>
        Message(StatusCodes.Status404NotFound, "sensorId", $"No sensor '{(sensorId.Length > 64 ? sensorId[..64] + "…" : sensorId)}': it has no readings and no calibration parameters.");

    public static IResult Message(int status, string? field, string message) =>
        Of(status, [new ReadingError(null, field, message)]);

    private static string Describe(ReadingError error) =>
        (error.Index, error.Field) switch
        {
            (null, null) => error.Message,
            (null, { } f) => $"{f}: {error.Message}",
            ({ } i, null) => $"reading {i}: {error.Message}",
            ({ } i, { } f) => $"reading {i}, {f}: {error.Message}",
        };
}
