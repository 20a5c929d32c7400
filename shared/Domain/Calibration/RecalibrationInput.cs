using System.Text.Json;
using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Domain.Calibration;

/// <summary>The body of <c>POST /api/recalibrations</c>: <c>{"sensorId"?: "...", "from": "...", "to": "..."}</c>.</summary>
public sealed record RecalibrationInput(string? SensorId, DateTimeOffset From, DateTimeOffset To)
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "sensorId", "from", "to" };

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

        var from = Time(root, "from", errors);
        var to = Time(root, "to", errors);
        if (from is not null && to is not null && from >= to)
        {
            errors.Add(new ReadingError(null, "to", "Must be after from."));
        }

        return errors.Count > 0 ? (null, errors) : (new RecalibrationInput(sensorId, from!.Value, to!.Value), errors);
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
