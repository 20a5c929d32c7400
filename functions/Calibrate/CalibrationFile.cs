using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Ingest;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// The calibration file (setting <c>CalibrationFile</c>), parsed and checked as the API checks a
/// PUT: every entry or none. The file:
/// <code>
/// sensors:
///   sensor-001: { gain: 0.98, offset: 2.5, validFrom: "2026-01-01T00:00:00Z" }
///   sensor-002: { gain: 1.02, offset: -1.2 }
/// </code>
/// </summary>
public static class CalibrationFile
{
    /// <summary>One sensor's parameters; no <c>validFrom</c>: from when the change is seen.</summary>
    public sealed record Entry(string SensorId, double Gain, double Offset, DateTimeOffset? ValidFrom, int Line);

    /// <summary>Why a file was refused, with its 1-based line when one is to blame.</summary>
    public sealed record Refusal(string Reason, int? Line)
    {
        public override string ToString() => Line is { } line ? $"line {line}: {Reason}" : Reason;
    }

    /// <summary>The file's hash (SHA-256, hex): the same content is applied once.</summary>
    public static string Hash(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Parses the file: every entry, or the first reason to refuse it (nothing of it is applied then).</summary>
    public static (IReadOnlyList<Entry>? Entries, Refusal? Refused) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            return (null, new Refusal($"Not YAML: {e.Message}", Line(e.Start)));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner gives up on some malformed input without a position: the line
            // of the last event it could read is where to look.
            var last = LastReadableLine(text);
            return (null, new Refusal($"Not YAML: it cannot be read past this line (a {{ or [ left open?)", last));
        }
        catch (ArgumentException e)
        {
            // YamlDotNet's mapping refuses a key given twice with an ArgumentException.
            return (null, new Refusal($"Not a valid mapping: {e.Message}", null));
        }

        if (stream.Documents.Count == 0)
        {
            return (null, new Refusal("The file is empty: expected 'sensors:' with one entry per sensor.", null));
        }

        if (stream.Documents.Count > 1)
        {
            return (null, new Refusal("More than one YAML document: expected one, with 'sensors:'.", Line(stream.Documents[1].RootNode.Start)));
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return (null, new Refusal("Expected a mapping with 'sensors:' at the top.", Line(stream.Documents[0].RootNode.Start)));
        }

        YamlNode? sensorsNode = null;
        foreach (var (key, value) in root.Children)
        {
            if (key is YamlScalarNode { Value: "sensors" })
            {
                sensorsNode = value;
            }
            else
            {
                return (null, new Refusal($"Unknown key '{(key as YamlScalarNode)?.Value ?? key.ToString()}': the only top-level key is 'sensors'.", Line(key.Start)));
            }
        }

        if (sensorsNode is null)
        {
            return (null, new Refusal("'sensors:' is missing.", Line(root.Start)));
        }

        if (sensorsNode is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return ([], null);
        }

        if (sensorsNode is not YamlMappingNode sensors)
        {
            return (null, new Refusal("'sensors' must be a mapping of sensor id to { gain, offset, validFrom }.", Line(sensorsNode.Start)));
        }

        var entries = new List<Entry>();
        foreach (var (key, value) in sensors.Children)
        {
            var line = Line(key.Start);
            if (key is not YamlScalarNode { Value: { } sensorId } || !ReadingRequestParser.IsValidSensorId(sensorId))
            {
                return (null, new Refusal($"Sensor id '{(key as YamlScalarNode)?.Value}': {ReadingRequestParser.SensorIdRule}", line));
            }

            if (value is not YamlMappingNode fields)
            {
                return (null, new Refusal($"{sensorId}: expected {{ gain, offset, validFrom }}.", Line(value.Start)));
            }

            // The API's own rules (CalibrationInput, as PUT /api/sensors/{id}/calibration checks
            // its body): the entry as the JSON body a PUT would send.
            var (body, explicitValidFrom) = AsJsonBody(fields);
            var (input, errors) = CalibrationInput.Parse(body);
            if (input is null)
            {
                var first = errors[0];
                var at = first.Field is { } field ? FieldLine(fields, field) ?? line : line;
                var more = errors.Count > 1 ? $" ({errors.Count - 1} more problem(s) in this entry)" : "";
                return (null, new Refusal($"{sensorId}: {(first.Field is null ? "" : first.Field + ": ")}{first.Message.Replace("JSON ", "", StringComparison.Ordinal)}{more}", at));
            }

            entries.Add(new Entry(sensorId, input.Gain, input.Offset, explicitValidFrom ? input.ValidFrom : null, line ?? 0));
        }

        return (entries, null);
    }

    /// <summary>A plain scalar that is a number becomes a JSON number, anything else a string (which the API refuses where a number is due).</summary>
    private static (byte[] Body, bool ExplicitValidFrom) AsJsonBody(YamlMappingNode fields)
    {
        using var buffer = new MemoryStream();
        var explicitValidFrom = false;
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in fields.Children)
            {
                var name = (key as YamlScalarNode)?.Value ?? key.ToString();
                json.WritePropertyName(name);
                if (value is YamlScalarNode scalar)
                {
                    if (scalar.Style == ScalarStyle.Plain && double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                    {
                        json.WriteNumberValue(number);
                    }
                    else
                    {
                        json.WriteStringValue(scalar.Value);
                    }
                }
                else
                {
                    json.WriteStartObject();
                    json.WriteEndObject();
                }

                explicitValidFrom |= name == "validFrom";
            }

            if (!explicitValidFrom)
            {
                // Not in the file: from when the change is seen (set when it is applied); any valid time passes the check here.
                json.WriteString("validFrom", "2000-01-01T00:00:00Z");
            }

            json.WriteEndObject();
        }

        return (buffer.ToArray(), explicitValidFrom);
    }

    private static int? LastReadableLine(string text)
    {
        var parser = new Parser(new StringReader(text));
        int? line = null;
        try
        {
            while (parser.MoveNext())
            {
                line = parser.Current is { } e && e.End.Line > 0 ? (int)e.End.Line : line;
            }
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // Where it stopped.
        }

        return line;
    }

    private static int? FieldLine(YamlMappingNode fields, string field) =>
        fields.Children.Keys.OfType<YamlScalarNode>().FirstOrDefault(k => k.Value == field) is { } key ? Line(key.Start) : null;

    private static int? Line(Mark mark) => mark.Line > 0 ? (int)mark.Line : null;

    /// <summary>For logs: the file's content as text (UTF-8).</summary>
    public static string Text(byte[] content) => Encoding.UTF8.GetString(content);
}
