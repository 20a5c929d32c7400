using System.Globalization;
using System.Text.Json;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>
/// Older firmware: <c>{"id":4711,"t":7135,"ts":1732953600}</c> or an array of them. <c>id</c> is a
/// positive whole number (device and sensor <c>legacy-{id}</c>), <c>t</c> a whole number of
/// hundredths of a degree Fahrenheit (stored as sent, unit <see cref="ReadingUnits.HundredthsFahrenheit"/>;
/// its Celsius value is checked against the limits), <c>ts</c> Unix seconds.
/// </summary>
public sealed class LegacyDecoder : IPayloadDecoder
{
    public const string DevicePrefix = "legacy-";
    private const string AllowedFields = "Unknown field. Allowed: id, t, ts.";

    public string Name => "legacy";

    public int Version => 1;

    /// <summary>The device (and sensor) id of a legacy numeric id.</summary>
    public static string DeviceIdOf(long id) => DevicePrefix + id.ToString(CultureInfo.InvariantCulture);

    public DecodedPayload Decode(ReadOnlyMemory<byte> payload, DecodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            return DecodedPayload.Failed(new ReadingError(null, null, $"The body is not valid JSON: {e.Message}"));
        }

        using (document)
        {
            var root = document.RootElement;
            var errors = new List<ReadingError>();
            var readings = new List<RawReadingMessage>();
            switch (root.ValueKind)
            {
                case JsonValueKind.Object:
                    DecodeOne(root, null, context, readings, errors);
                    break;
                case JsonValueKind.Array:
                    var count = root.GetArrayLength();
                    if (count == 0)
                    {
                        return DecodedPayload.Failed(new ReadingError(null, null, "The array has no readings."));
                    }

                    if (count > context.Limits.MaxReadingsPerRequest)
                    {
                        return DecodedPayload.Failed(new ReadingError(null, null, $"The array has {count} readings; at most {context.Limits.MaxReadingsPerRequest} are accepted per request."));
                    }

                    var index = 0;
                    foreach (var item in root.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.Object)
                        {
                            DecodeOne(item, index, context, readings, errors);
                        }
                        else
                        {
                            errors.Add(new ReadingError(index, null, "A reading must be a JSON object."));
                        }

                        index++;
                    }

                    break;
                default:
                    return DecodedPayload.Failed(new ReadingError(null, null, "The body must be a legacy reading object or an array of them."));
            }

            return errors.Count > 0 ? new DecodedPayload([], errors) : new DecodedPayload(readings, errors);
        }
    }

    private static void DecodeOne(JsonElement item, int? index, DecodeContext context, List<RawReadingMessage> readings, List<ReadingError> errors)
    {
        var before = errors.Count;
        long? id = null, t = null, ts = null;
        foreach (var property in item.EnumerateObject())
        {
            switch (property.Name)
            {
                case "id":
                    id = WholeNumber(property.Value, index, "id", errors);
                    break;
                case "t":
                    t = WholeNumber(property.Value, index, "t", errors);
                    break;
                case "ts":
                    ts = WholeNumber(property.Value, index, "ts", errors);
                    break;
                default:
                    errors.Add(new ReadingError(index, property.Name, AllowedFields));
                    break;
            }
        }

        if (id is null && errors.Count == before)
        {
            errors.Add(new ReadingError(index, "id", "Required."));
        }
        else if (id is <= 0)
        {
            errors.Add(new ReadingError(index, "id", "Must be a positive whole number."));
        }

        if (t is null && !errors.Exists(e => e.Index == index && e.Field == "t"))
        {
            errors.Add(new ReadingError(index, "t", "Required."));
        }
        else if (t is { } hundredths)
        {
            var celsius = ReadingUnits.ToCelsius(hundredths, ReadingUnits.HundredthsFahrenheit);
            if (celsius < context.Limits.MinValue || celsius > context.Limits.MaxValue)
            {
                errors.Add(new ReadingError(index, "t", string.Create(CultureInfo.InvariantCulture,
                    $"Is {celsius:0.###} °C; must be between {context.Limits.MinValue} and {context.Limits.MaxValue}.")));
            }
        }

        DateTimeOffset recordedAt = default;
        if (ts is null && !errors.Exists(e => e.Index == index && e.Field == "ts"))
        {
            errors.Add(new ReadingError(index, "ts", "Required."));
        }
        else if (ts is { } seconds)
        {
            if (seconds < 0 || seconds > 253402300799)
            {
                errors.Add(new ReadingError(index, "ts", "Must be Unix seconds between 1970 and 9999."));
            }
            else
            {
                recordedAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
                if (TimeCheck.Problem(recordedAt, context) is { } problem)
                {
                    errors.Add(new ReadingError(index, "ts", problem));
                }
            }
        }

        if (errors.Count == before)
        {
            var sensorId = DeviceIdOf(id!.Value);
            readings.Add(new RawReadingMessage
            {
                SensorId = sensorId,
                RecordedAt = recordedAt,
                Value = t!.Value,
                ReceivedAt = context.Now,
                Unit = ReadingUnits.HundredthsFahrenheit,
            });
        }
    }

    private static long? WholeNumber(JsonElement value, int? index, string field, List<ReadingError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            return number;
        }

        errors.Add(new ReadingError(index, field, "Must be a whole number."));
        return null;
    }
}
