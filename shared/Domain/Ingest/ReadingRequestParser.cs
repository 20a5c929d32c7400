using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Ingest;

/// <summary>One problem with a request: which reading (null for the whole body), which field, what.</summary>
public sealed record ReadingError(
    [property: JsonPropertyName("index")] int? Index,
    [property: JsonPropertyName("field")] string? Field,
    [property: JsonPropertyName("message")] string Message);

/// <summary>Limits a request is checked against.</summary>
public sealed record ReadingLimits(int MaxReadingsPerRequest, double MinValue, double MaxValue, TimeSpan MaxFutureSkew)
{
    public static ReadingLimits Default { get; } = new(5000, -1000, 1000, TimeSpan.FromMinutes(5));
}

/// <summary>
/// Parses the body of <c>POST /api/readings</c>: one reading object or an array of them. Every
/// problem is reported by index and field; a request with any problem yields no readings.
/// </summary>
public static partial class ReadingRequestParser
{
    private static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal) { "sensorId", "recordedAt", "value", "source" };

    public static (IReadOnlyList<RawReadingMessage> Readings, IReadOnlyList<ReadingError> Errors) Parse(
        ReadOnlyMemory<byte> body, ReadingLimits limits, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var errors = new List<ReadingError>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            return ([], [new ReadingError(null, null, $"The body is not valid JSON: {e.Message}")]);
        }

        using (document)
        {
            var root = document.RootElement;
            var readings = new List<RawReadingMessage>();
            switch (root.ValueKind)
            {
                case JsonValueKind.Object:
                    ParseOne(root, null, limits, now, readings, errors);
                    break;
                case JsonValueKind.Array:
                    var count = root.GetArrayLength();
                    if (count == 0)
                    {
                        errors.Add(new ReadingError(null, null, "The array has no readings."));
                    }
                    else if (count > limits.MaxReadingsPerRequest)
                    {
                        errors.Add(new ReadingError(null, null, $"The array has {count} readings; at most {limits.MaxReadingsPerRequest} are accepted per request."));
                    }
                    else
                    {
                        var index = 0;
                        foreach (var element in root.EnumerateArray())
                        {
                            ParseOne(element, index++, limits, now, readings, errors);
                        }
                    }

                    break;
                default:
                    errors.Add(new ReadingError(null, null, "The body must be a reading object or an array of readings."));
                    break;
            }

            return errors.Count > 0 ? ([], errors) : (readings, errors);
        }
    }

    private static void ParseOne(JsonElement element, int? index, ReadingLimits limits, DateTimeOffset now, List<RawReadingMessage> readings, List<ReadingError> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new ReadingError(index, null, "A reading must be a JSON object."));
            return;
        }

        var before = errors.Count;
        foreach (var property in element.EnumerateObject())
        {
            if (!KnownFields.Contains(property.Name))
            {
                errors.Add(new ReadingError(index, property.Name, "Unknown field. Allowed: sensorId, recordedAt, value, source."));
            }
        }

        string? sensorId = null;
        if (!element.TryGetProperty("sensorId", out var sensorElement))
        {
            errors.Add(new ReadingError(index, "sensorId", "Required."));
        }
        else if (sensorElement.ValueKind != JsonValueKind.String)
        {
            errors.Add(new ReadingError(index, "sensorId", "Must be a string."));
        }
        else if (!SensorIdPattern().IsMatch(sensorId = sensorElement.GetString()!))
        {
            errors.Add(new ReadingError(index, "sensorId", "Must be 1-64 characters of letters, digits, '-', '_', '.', ':'."));
        }

        DateTimeOffset recordedAt = default;
        if (!element.TryGetProperty("recordedAt", out var timeElement))
        {
            errors.Add(new ReadingError(index, "recordedAt", "Required."));
        }
        else if (timeElement.ValueKind != JsonValueKind.String)
        {
            errors.Add(new ReadingError(index, "recordedAt", "Must be an ISO-8601 string with an offset, e.g. 2026-11-23T10:00:00Z."));
        }
        else if (!TryParseTime(timeElement.GetString()!, out recordedAt))
        {
            errors.Add(new ReadingError(index, "recordedAt", "Must be an ISO-8601 timestamp with an offset (Z or ±hh:mm), e.g. 2026-11-23T10:00:00Z."));
        }
        else if (recordedAt > now + limits.MaxFutureSkew)
        {
            errors.Add(new ReadingError(index, "recordedAt", $"Is more than {limits.MaxFutureSkew.TotalSeconds:0} s in the future."));
        }

        double value = 0;
        if (!element.TryGetProperty("value", out var valueElement))
        {
            errors.Add(new ReadingError(index, "value", "Required."));
        }
        else if (valueElement.ValueKind != JsonValueKind.Number)
        {
            errors.Add(new ReadingError(index, "value", "Must be a JSON number."));
        }
        else if (!valueElement.TryGetDouble(out value) || !double.IsFinite(value))
        {
            errors.Add(new ReadingError(index, "value", "Must be a finite number."));
        }
        else if (value < limits.MinValue || value > limits.MaxValue)
        {
            errors.Add(new ReadingError(index, "value", string.Create(CultureInfo.InvariantCulture, $"Must be between {limits.MinValue} and {limits.MaxValue}.")));
        }

        string? source = null;
        if (element.TryGetProperty("source", out var sourceElement) && sourceElement.ValueKind != JsonValueKind.Null)
        {
            if (sourceElement.ValueKind != JsonValueKind.String || (source = sourceElement.GetString()!).Length > 128 || source.Any(char.IsControl))
            {
                errors.Add(new ReadingError(index, "source", "Must be a string of at most 128 printable characters."));
            }
        }

        if (errors.Count == before)
        {
            readings.Add(new RawReadingMessage { SensorId = sensorId!, RecordedAt = recordedAt, Value = value, ReceivedAt = now, Source = source });
        }
    }

    /// <summary>1–64 of letters, digits, '-', '_', '.', ':'.</summary>
    public static bool IsValidSensorId(string? sensorId) => sensorId is not null && SensorIdPattern().IsMatch(sensorId);

    /// <summary>An ISO-8601 timestamp that states its offset (Z or ±hh:mm).</summary>
    public static bool TryParseTime(string text, out DateTimeOffset value)
    {
        value = default;
        return IsoWithOffset().IsMatch(text) &&
               DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.:-]{1,64}\z")]
    private static partial Regex SensorIdPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|z|[+-]\d{2}:\d{2})\z")]
    private static partial Regex IsoWithOffset();
}
