using System.Text.Json;
using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Domain.Calibration;

/// <summary>The body of <c>PUT /api/sensors/{id}/calibration</c>, validated.</summary>
public sealed record CalibrationInput(double Gain, double Offset, DateTimeOffset ValidFrom)
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "gain", "offset", "validFrom" };

    /// <summary>Parses and checks: finite numbers, gain not 0, validFrom with an offset, no unknown fields.</summary>
    public static (CalibrationInput? Input, IReadOnlyList<ReadingError> Errors) Parse(ReadOnlyMemory<byte> body)
    {
        var errors = new List<ReadingError>();
        using var document = JsonObjectInput.Parse(body, Known, "{\"gain\": 0.98, \"offset\": 2.5, \"validFrom\": \"2026-01-01T00:00:00Z\"}", errors);
        if (document is null)
        {
            return (null, errors);
        }

        var root = document.RootElement;
        var gain = Number(root, "gain", errors);
        if (gain == 0)
        {
            errors.Add(new ReadingError(null, "gain", "Must not be 0."));
        }

        var offset = Number(root, "offset", errors);
        DateTimeOffset validFrom = default;
        if (!root.TryGetProperty("validFrom", out var from))
        {
            errors.Add(new ReadingError(null, "validFrom", "Required."));
        }
        else if (from.ValueKind != JsonValueKind.String || !ReadingRequestParser.TryParseTime(from.GetString()!, out validFrom))
        {
            errors.Add(new ReadingError(null, "validFrom", "Must be an ISO-8601 timestamp with an offset, e.g. 2026-01-01T00:00:00Z."));
        }

        return errors.Count > 0 || gain is null || offset is null
            ? (null, errors)
            : (new CalibrationInput(gain.Value, offset.Value, validFrom), errors);
    }

    private static double? Number(JsonElement root, string name, List<ReadingError> errors)
    {
        if (!root.TryGetProperty(name, out var element))
        {
            errors.Add(new ReadingError(null, name, "Required."));
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            errors.Add(new ReadingError(null, name, "Must be a finite JSON number."));
            return null;
        }

        return value;
    }
}
