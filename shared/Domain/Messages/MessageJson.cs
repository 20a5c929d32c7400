using System.Buffers.Text;
using System.Text.Json;

namespace SensorPipeline.Domain.Messages;

/// <summary>
/// The Kafka messages are read and written once per reading per hop, so they have hand-written
/// converters: one pass of <see cref="Utf8JsonReader"/> with no boxing of constructor arguments
/// (System.Text.Json's metadata path for records with init-only members boxes every value) and
/// property names compared as UTF-8. The format is the one System.Text.Json's web defaults wrote
/// before: camelCase names (matched case-insensitively on read), ISO 8601 times, numbers as JSON
/// numbers (numeric strings accepted on read), unknown properties ignored. A required property
/// that is missing or null makes the message undecodable (a <see cref="JsonException"/>).
/// </summary>
internal static class MessageJson
{
    /// <summary>
    /// Which of <paramref name="names"/> the current property is (-1 for none), then moves to its
    /// value. Exact camelCase is compared as UTF-8; other spellings case-insensitively.
    /// </summary>
    public static int Property(ref Utf8JsonReader reader, ReadOnlySpan<string> names, ReadOnlySpan<byte> n0, ReadOnlySpan<byte> n1, ReadOnlySpan<byte> n2, ReadOnlySpan<byte> n3, ReadOnlySpan<byte> n4)
    {
        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            throw new JsonException($"Expected a property name, found {reader.TokenType}.");
        }

        var index = reader.ValueTextEquals(n0) ? 0
            : reader.ValueTextEquals(n1) ? 1
            : reader.ValueTextEquals(n2) ? 2
            : reader.ValueTextEquals(n3) ? 3
            : reader.ValueTextEquals(n4) ? 4
            : -1;
        if (index < 0)
        {
            var name = reader.GetString();
            for (var i = 0; i < names.Length; i++)
            {
                if (string.Equals(name, names[i], StringComparison.OrdinalIgnoreCase))
                {
                    index = i;
                    break;
                }
            }
        }

        if (!reader.Read())
        {
            throw new JsonException("The JSON ended inside an object.");
        }

        return index;
    }

    public static void ExpectStartObject(ref Utf8JsonReader reader, string type)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"A {type} must be a JSON object, found {reader.TokenType}.");
        }
    }

    public static string RequiredString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new JsonException($"'{name}' must be a string, found {reader.TokenType}.");

    public static string? OptionalString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Null ? null : RequiredString(ref reader, name);

    public static DateTimeOffset Time(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value)
            ? value
            : throw new JsonException($"'{name}' must be an ISO 8601 date and time.");

    public static double Double(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var number))
        {
            return number;
        }

        if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence && !reader.ValueIsEscaped &&
            Utf8Parser.TryParse(reader.ValueSpan, out double parsed, out var consumed) && consumed == reader.ValueSpan.Length)
        {
            return parsed;
        }

        throw new JsonException($"'{name}' must be a number.");
    }

    public static long Int64(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
        {
            return number;
        }

        if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence && !reader.ValueIsEscaped &&
            Utf8Parser.TryParse(reader.ValueSpan, out long parsed, out var consumed) && consumed == reader.ValueSpan.Length)
        {
            return parsed;
        }

        throw new JsonException($"'{name}' must be a whole number.");
    }

    public static T Required<T>(T? value, string name, string type)
        where T : struct =>
        value ?? throw new JsonException($"The {type} has no '{name}'.");

    public static string Required(string? value, string name, string type) =>
        value ?? throw new JsonException($"The {type} has no '{name}'.");
}
