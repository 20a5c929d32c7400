using System.Globalization;
using System.Text.Json;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>
/// Multi-channel controllers: <c>{"ts":"2026-11-23T10:00:00Z","data":"&lt;hex&gt;"}</c> for the device
/// the route or topic names. <c>data</c> is one big-endian signed 16-bit value per channel, in
/// hundredths of a degree Celsius (stored as sent, unit <see cref="ReadingUnits.HundredthsCelsius"/>);
/// <see cref="NoReading"/> (<c>0x8000</c>) means "no reading" and the channel is skipped. The first
/// value is channel 1: sensor <c>{device}:ch1</c>.
/// </summary>
public sealed class FrameDecoder : IPayloadDecoder
{
    public const ushort NoReading = 0x8000;

    public string Name => "frame";

    public int Version => 1;

    public static string SensorIdOf(string deviceId, int channel) => string.Create(CultureInfo.InvariantCulture, $"{deviceId}:ch{channel}");

    public DecodedPayload Decode(ReadOnlyMemory<byte> payload, DecodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.DeviceId is not { } deviceId || !ReadingRequestParser.IsValidSensorId(SensorIdOf(deviceId, 1)))
        {
            return DecodedPayload.Failed(new ReadingError(null, null, "A frame belongs to the device its route or topic names (devices/{id}/frames); that id is not a valid device id."));
        }

        string? ts = null, data = null;
        var errors = new List<ReadingError>();
        try
        {
            using var document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 4 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return DecodedPayload.Failed(new ReadingError(null, null, "A frame must be a JSON object {\"ts\":..., \"data\":...}."));
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "ts" when property.Value.ValueKind == JsonValueKind.String:
                        ts = property.Value.GetString();
                        break;
                    case "data" when property.Value.ValueKind == JsonValueKind.String:
                        data = property.Value.GetString();
                        break;
                    case "ts" or "data":
                        errors.Add(new ReadingError(null, property.Name, "Must be a string."));
                        break;
                    default:
                        errors.Add(new ReadingError(null, property.Name, "Unknown field. Allowed: ts, data."));
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            return DecodedPayload.Failed(new ReadingError(null, null, $"The body is not valid JSON: {e.Message}"));
        }

        var recordedAt = default(DateTimeOffset);
        if (ts is null)
        {
            AddIfNew(errors, "ts", "Required.");
        }
        else if (!ReadingRequestParser.TryParseTime(ts, out recordedAt))
        {
            errors.Add(new ReadingError(null, "ts", "Must be an ISO-8601 timestamp with an offset (Z or ±hh:mm), e.g. 2026-11-23T10:00:00Z."));
        }
        else if (TimeCheck.Problem(recordedAt, context) is { } problem)
        {
            errors.Add(new ReadingError(null, "ts", problem));
        }

        var channels = 0;
        if (data is null)
        {
            AddIfNew(errors, "data", "Required.");
        }
        else if (data.Length == 0 || data.Length % 4 != 0 || !IsHex(data))
        {
            errors.Add(new ReadingError(null, "data", "Must be hex digits, 4 per channel (big-endian signed 16-bit, hundredths of a degree Celsius; 8000 = no reading)."));
        }
        else if ((channels = data.Length / 4) > context.Limits.MaxReadingsPerRequest)
        {
            errors.Add(new ReadingError(null, "data", $"Has {channels} channels; at most {context.Limits.MaxReadingsPerRequest} are accepted per frame."));
        }

        if (errors.Count > 0)
        {
            return new DecodedPayload([], errors);
        }

        var bytes = Convert.FromHexString(data!);
        var readings = new List<RawReadingMessage>(channels);
        for (var n = 0; n < channels; n++)
        {
            var raw = (ushort)((bytes[2 * n] << 8) | bytes[(2 * n) + 1]);
            if (raw == NoReading)
            {
                continue;
            }

            var value = (short)raw;
            var celsius = ReadingUnits.ToCelsius(value, ReadingUnits.HundredthsCelsius);
            if (celsius < context.Limits.MinValue || celsius > context.Limits.MaxValue)
            {
                errors.Add(new ReadingError(n + 1, "data", string.Create(CultureInfo.InvariantCulture,
                    $"Channel {n + 1} is {celsius:0.##} °C; must be between {context.Limits.MinValue} and {context.Limits.MaxValue}.")));
                continue;
            }

            readings.Add(new RawReadingMessage
            {
                SensorId = SensorIdOf(deviceId, n + 1),
                RecordedAt = recordedAt,
                Value = value,
                ReceivedAt = context.Now,
                Unit = ReadingUnits.HundredthsCelsius,
            });
        }

        return errors.Count > 0 ? new DecodedPayload([], errors) : new DecodedPayload(readings, errors);
    }

    private static void AddIfNew(List<ReadingError> errors, string field, string message)
    {
        if (!errors.Exists(e => e.Field == field))
        {
            errors.Add(new ReadingError(null, field, message));
        }
    }

    private static bool IsHex(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
