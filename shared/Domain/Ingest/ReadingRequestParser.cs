using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Ingest;

/// <summary>
/// Parses the body of <c>POST /api/readings</c>: one reading object or an array of them. Every
/// problem is reported by index and field; a request with any problem yields no readings.
/// </summary>
/// <remarks>
/// One forward pass with <see cref="Utf8JsonReader"/> (no document tree): field names are compared
/// as UTF-8, timestamps are checked and parsed from a stack buffer, and consecutive readings of the
/// same sensor share one string. Malformed JSON anywhere rejects the body with one error, as a
/// document parse would.
/// </remarks>
public static partial class ReadingRequestParser
{
    private const int MaxDepth = 8;
    private const string AllowedFields = "Unknown field. Allowed: sensorId, recordedAt, value, source.";

    public static (IReadOnlyList<RawReadingMessage> Readings, IReadOnlyList<ReadingError> Errors) Parse(
        ReadOnlyMemory<byte> body, ReadingLimits limits, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var errors = new List<ReadingError>();
        List<RawReadingMessage> readings;
        try
        {
            var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read())
            {
                // Empty or whitespace only: the same message a document parse gives.
                throw new JsonException("The input does not contain any JSON tokens. Expected the input to start with a valid JSON token, while isFinalBlock is true.");
            }

            var state = new State(limits, now);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    readings = new List<RawReadingMessage>(1);
                    ParseOne(ref reader, null, ref state, readings, errors);
                    break;
                case JsonTokenType.StartArray:
                    // A rough capacity from the body's size (about 70 bytes per reading).
                    readings = new List<RawReadingMessage>(Math.Clamp(body.Length / 70, 1, limits.MaxReadingsPerRequest));
                    var count = 0;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (count < limits.MaxReadingsPerRequest)
                        {
                            if (reader.TokenType == JsonTokenType.StartObject)
                            {
                                ParseOne(ref reader, count, ref state, readings, errors);
                            }
                            else
                            {
                                errors.Add(new ReadingError(count, null, "A reading must be a JSON object."));
                                reader.Skip();
                            }
                        }
                        else
                        {
                            // Over the limit: only the count matters now, but the JSON must still be valid.
                            reader.Skip();
                        }

                        count++;
                    }

                    if (count == 0)
                    {
                        errors.Clear();
                        errors.Add(new ReadingError(null, null, "The array has no readings."));
                    }
                    else if (count > limits.MaxReadingsPerRequest)
                    {
                        errors.Clear();
                        errors.Add(new ReadingError(null, null, $"The array has {count} readings; at most {limits.MaxReadingsPerRequest} are accepted per request."));
                    }

                    break;
                default:
                    readings = [];
                    reader.Skip();
                    errors.Add(new ReadingError(null, null, "The body must be a reading object or an array of readings."));
                    break;
            }

            // Anything after the root value is malformed JSON (the reader throws on it).
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            return ([], [new ReadingError(null, null, $"The body is not valid JSON: {e.Message}")]);
        }

        return errors.Count > 0 ? ([], errors) : (readings, errors);
    }

    /// <summary>What is kept across the readings of one request.</summary>
    private struct State(ReadingLimits limits, DateTimeOffset now)
    {
        public readonly ReadingLimits Limits = limits;
        public readonly DateTimeOffset Now = now;
        public readonly DateTimeOffset Latest = now + limits.MaxFutureSkew;
        public readonly DateTimeOffset Earliest = limits.MaxAge >= now - DateTimeOffset.MinValue ? DateTimeOffset.MinValue : now - limits.MaxAge;
        /// <summary>The previous reading's sensor id: a batch is usually one sensor's readings.</summary>
        public string? LastSensorId;
    }

    /// <summary>Reads one object (the reader is on its StartObject) and validates it as a reading.</summary>
    private static void ParseOne(ref Utf8JsonReader reader, int? index, ref State state, List<RawReadingMessage> readings, List<ReadingError> errors)
    {
        var before = errors.Count;
        List<ReadingError>? unknown = null;
        // What each known field held (each may appear once).
        JsonTokenType sensorKind = JsonTokenType.None, timeKind = JsonTokenType.None, valueKind = JsonTokenType.None, sourceKind = JsonTokenType.None;
        string? sensorId = null;
        var sensorValid = false;
        var timeValid = false;
        DateTimeOffset recordedAt = default;
        double value = 0;
        var valueParsed = false;
        string? source = null;
        // Known fields seen so far (a bit each): a repeated one is an error, not "the last wins".
        var seen = 0;
        List<ReadingError>? repeated = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = Field(ref reader);
            var unknownName = field == KnownField.Unknown ? reader.GetString() : null;
            if (!reader.Read())
            {
                break;
            }

            if (field != KnownField.Unknown)
            {
                var bit = 1 << (int)field;
                if ((seen & bit) != 0)
                {
                    (repeated ??= []).Add(new ReadingError(index, FieldName(field), "Appears more than once in the reading; give each field once."));
                }

                seen |= bit;
            }

            switch (field)
            {
                case KnownField.SensorId:
                    sensorKind = reader.TokenType;
                    if (sensorKind == JsonTokenType.String)
                    {
                        sensorValid = TryReadSensorId(ref reader, ref state.LastSensorId, out sensorId);
                    }

                    break;
                case KnownField.RecordedAt:
                    timeKind = reader.TokenType;
                    if (timeKind == JsonTokenType.String)
                    {
                        timeValid = TryReadTime(ref reader, out recordedAt);
                    }

                    break;
                case KnownField.Value:
                    valueKind = reader.TokenType;
                    valueParsed = valueKind == JsonTokenType.Number && reader.TryGetDouble(out value);
                    break;
                case KnownField.Source:
                    sourceKind = reader.TokenType;
                    source = sourceKind == JsonTokenType.String ? reader.GetString() : null;
                    break;
                default:
                    (unknown ??= []).Add(new ReadingError(index, unknownName, AllowedFields));
                    break;
            }

            reader.Skip();
        }

        if (unknown is not null)
        {
            errors.AddRange(unknown);
        }

        if (repeated is not null)
        {
            errors.AddRange(repeated);
        }

        if (sensorKind == JsonTokenType.None)
        {
            errors.Add(new ReadingError(index, "sensorId", "Required."));
        }
        else if (sensorKind != JsonTokenType.String)
        {
            errors.Add(new ReadingError(index, "sensorId", "Must be a string."));
        }
        else if (!sensorValid)
        {
            errors.Add(new ReadingError(index, "sensorId", SensorIdRule));
        }

        if (timeKind == JsonTokenType.None)
        {
            errors.Add(new ReadingError(index, "recordedAt", "Required."));
        }
        else if (timeKind != JsonTokenType.String)
        {
            errors.Add(new ReadingError(index, "recordedAt", "Must be an ISO-8601 string with an offset, e.g. 2026-11-23T10:00:00Z."));
        }
        else if (!timeValid)
        {
            errors.Add(new ReadingError(index, "recordedAt", "Must be an ISO-8601 timestamp with an offset (Z or ±hh:mm), e.g. 2026-11-23T10:00:00Z."));
        }
        else if (recordedAt > state.Latest)
        {
            errors.Add(new ReadingError(index, "recordedAt", $"Is more than {state.Limits.MaxFutureSkew.TotalSeconds:0} s in the future."));
        }
        else if (recordedAt < state.Earliest)
        {
            errors.Add(new ReadingError(index, "recordedAt", string.Create(CultureInfo.InvariantCulture,
                $"Is more than {state.Limits.MaxAge.TotalDays:0.##} days in the past (before {state.Earliest.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}; IngestMaxAge).")));
        }

        if (valueKind == JsonTokenType.None)
        {
            errors.Add(new ReadingError(index, "value", "Required."));
        }
        else if (valueKind != JsonTokenType.Number)
        {
            errors.Add(new ReadingError(index, "value", "Must be a JSON number."));
        }
        else if (!valueParsed || !double.IsFinite(value))
        {
            errors.Add(new ReadingError(index, "value", "Must be a finite number."));
        }
        else if (value < state.Limits.MinValue || value > state.Limits.MaxValue)
        {
            errors.Add(new ReadingError(index, "value", string.Create(CultureInfo.InvariantCulture, $"Must be between {state.Limits.MinValue} and {state.Limits.MaxValue}.")));
        }

        if (sourceKind is not JsonTokenType.None and not JsonTokenType.Null &&
            (sourceKind != JsonTokenType.String || source!.Length > 128 || source.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || source.AsSpan().ContainsAnyInRange('\u007f', '\u009f')))
        {
            errors.Add(new ReadingError(index, "source", "Must be a string of at most 128 printable characters."));
        }

        if (errors.Count == before)
        {
            readings.Add(new RawReadingMessage { SensorId = sensorId!, RecordedAt = recordedAt, Value = value, ReceivedAt = state.Now, Source = source });
        }
    }

    private enum KnownField { Unknown, SensorId, RecordedAt, Value, Source }

    private static string FieldName(KnownField field) => field switch
    {
        KnownField.SensorId => "sensorId",
        KnownField.RecordedAt => "recordedAt",
        KnownField.Value => "value",
        _ => "source",
    };

    private static KnownField Field(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("sensorId"u8) ? KnownField.SensorId :
        reader.ValueTextEquals("recordedAt"u8) ? KnownField.RecordedAt :
        reader.ValueTextEquals("value"u8) ? KnownField.Value :
        reader.ValueTextEquals("source"u8) ? KnownField.Source :
        KnownField.Unknown;

    /// <summary>1-64 of [A-Za-z0-9_.:-]; reuses the previous reading's string when it is the same id.</summary>
    private static bool TryReadSensorId(ref Utf8JsonReader reader, ref string? last, out string? sensorId)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var raw = reader.ValueSpan;
            if (last is not null && raw.Length == last.Length && Ascii.Equals(raw, last))
            {
                sensorId = last;
                return true;
            }

            if (raw.Length is < 1 or > 64 || raw.ContainsAnyExcept(SensorIdBytes))
            {
                sensorId = null;
                return false;
            }

            sensorId = last = Encoding.ASCII.GetString(raw);
            return true;
        }

        // Escaped (e.g. \u0041): check the unescaped text.
        var text = reader.GetString()!;
        if (text.Length is < 1 or > 64 || text.AsSpan().ContainsAnyExcept(SensorIdChars))
        {
            sensorId = null;
            return false;
        }

        sensorId = last = text;
        return true;
    }

    private static readonly SearchValues<byte> SensorIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"u8);
    private static readonly SearchValues<char> SensorIdChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-");

    /// <summary>What a bad sensor id is told, wherever one is checked.</summary>
    public const string SensorIdRule = "Must be 1-64 characters of ASCII letters (A-Z, a-z), digits (0-9), '-', '_', '.', ':'.";

    /// <summary>1–64 of ASCII letters, digits, '-', '_', '.', ':' (the rule readings are held to).</summary>
    public static bool IsValidSensorId(string? sensorId) =>
        sensorId is { Length: >= 1 and <= 64 } && !sensorId.AsSpan().ContainsAnyExcept(SensorIdChars);

    /// <summary>An ISO-8601 timestamp that states its offset (Z or ±hh:mm), as readings' recordedAt.</summary>
    public static bool TryParseTime(string text, out DateTimeOffset value)
    {
        value = default;
        return IsoWithOffset().IsMatch(text) &&
               DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>An ISO-8601 timestamp with an offset, read without allocating.</summary>
    private static bool TryReadTime(ref Utf8JsonReader reader, out DateTimeOffset value)
    {
        value = default;
        // The longest valid form, 2026-11-23T10:00:00.1234567+01:00, has 33 characters.
        Span<char> buffer = stackalloc char[40];
        int length;
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var raw = reader.ValueSpan;
            if (raw.Length > buffer.Length)
            {
                return false;
            }

            length = Encoding.UTF8.GetChars(raw, buffer);
        }
        else
        {
            var text = reader.GetString()!;
            if (text.Length > buffer.Length)
            {
                return false;
            }

            length = text.Length;
            text.CopyTo(buffer);
        }

        var chars = buffer[..length];
        return IsoWithOffset().IsMatch(chars) &&
               DateTimeOffset.TryParse(chars, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|z|[+-]\d{2}:\d{2})\z")]
    private static partial Regex IsoWithOffset();
}
