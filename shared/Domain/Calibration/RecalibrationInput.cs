using System.Text.Json;
using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Domain.Calibration;

/// <summary>
/// The body of <c>POST /api/recalibrations</c>: <c>{"sensorId"?: "...", "from": "...", "to": "...", "requestId"?: "..."}</c>.
/// <c>requestId</c> (1–200 of letters, digits, <c>-</c>, <c>_</c>, <c>.</c>, <c>:</c>) makes the
/// request idempotent: the same id finds the job it created.
/// </summary>
public sealed record RecalibrationInput(string? SensorId, DateTimeOffset From, DateTimeOffset To, string? RequestId = null)
{
    public const int MaxRequestIdLength = 200;

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "sensorId", "from", "to", "requestId" };

    /// <summary>True for a request id the API takes.</summary>
    public static bool IsValidRequestId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxRequestIdLength &&
        id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    public static (RecalibrationInput? Input, IReadOnlyList<ReadingError> Errors) Parse(ReadOnlyMemory<byte> body)
    {
        var errors = new List<ReadingError>();
        using var document = JsonObjectInput.Parse(body, Known, "{\"sensorId\": \"...\", \"from\": \"...\", \"to\": \"...\"}", errors);
        if (document is null)
        {
            return (null, errors);
        }

        var root = document.RootElement;
        string? sensorId = null;
        if (root.TryGetProperty("sensorId", out var sensor) && sensor.ValueKind != JsonValueKind.Null &&
            (sensor.ValueKind != JsonValueKind.String || !ReadingRequestParser.IsValidSensorId(sensorId = sensor.GetString())))
        {
            errors.Add(new ReadingError(null, "sensorId", ReadingRequestParser.SensorIdRule[..^1] + " (omit it for every sensor)."));
        }

        string? requestId = null;
        if (root.TryGetProperty("requestId", out var request) && request.ValueKind != JsonValueKind.Null &&
            (request.ValueKind != JsonValueKind.String || !IsValidRequestId(requestId = request.GetString())))
        {
            errors.Add(new ReadingError(null, "requestId", $"1-{MaxRequestIdLength} of ASCII letters, digits, '-', '_', '.', ':' (omit it for a new job every time)."));
        }

        var from = Time(root, "from", errors);
        var to = Time(root, "to", errors);
        if (from is not null && to is not null && from >= to)
        {
            errors.Add(new ReadingError(null, "to", "Must be after from."));
        }

        return errors.Count > 0 ? (null, errors) : (new RecalibrationInput(sensorId, from!.Value, to!.Value, requestId), errors);
    }

    private static DateTimeOffset? Time(JsonElement root, string name, List<ReadingError> errors)
    {
        if (!root.TryGetProperty(name, out var element))
        {
            errors.Add(new ReadingError(null, name, "Required."));
            return null;
        }

        if (element.ValueKind != JsonValueKind.String || !ReadingRequestParser.TryParseTime(element.GetString()!, out var value))
        {
            errors.Add(new ReadingError(null, name, "Must be an ISO-8601 timestamp with an offset, e.g. 2026-01-01T00:00:00Z."));
            return null;
        }

        return value;
    }
}
