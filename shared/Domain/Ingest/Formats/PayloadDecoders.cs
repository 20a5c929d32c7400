using System.Text.Json;

namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>
/// The registry of formats. A readings door (<c>POST /api/readings</c>, <c>devices/{id}/readings</c>)
/// recognises <c>native</c> or <c>legacy</c> per payload from the first reading's field names
/// (<see cref="ForReadings"/>); a frames door (<c>POST /api/devices/{id}/frames</c>,
/// <c>devices/{id}/frames</c>) takes <c>frame</c>. Replay finds a decoder by its ledger name.
/// </summary>
public static class PayloadDecoders
{
    public static NativeDecoder Native { get; } = new();

    public static LegacyDecoder Legacy { get; } = new();

    public static FrameDecoder Frame { get; } = new();

    public static IReadOnlyList<IPayloadDecoder> All { get; } = [Native, Legacy, Frame];

    public static IPayloadDecoder? ByName(string name) => All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// <c>legacy</c> when the first object's fields include <c>id</c> and <c>ts</c> and none of the
    /// native ones; otherwise <c>native</c> (whose parser then names what is wrong with a body that
    /// is neither). Reads only the first object's property names.
    /// </summary>
    public static IPayloadDecoder ForReadings(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 8 });
        bool id = false, ts = false, native = false;
        try
        {
            var depthOfObject = -1;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.StartObject && depthOfObject < 0)
                {
                    depthOfObject = reader.CurrentDepth;
                }
                else if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depthOfObject)
                {
                    break;
                }
                else if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depthOfObject + 1)
                {
                    id |= reader.ValueTextEquals("id"u8);
                    ts |= reader.ValueTextEquals("ts"u8);
                    native |= reader.ValueTextEquals("sensorId"u8) || reader.ValueTextEquals("recordedAt"u8) || reader.ValueTextEquals("value"u8);
                    reader.Skip();
                }
                else if (depthOfObject < 0 && reader.TokenType != JsonTokenType.StartArray)
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed (or cut off before the first object ended): what was seen decides.
        }

        return id && ts && !native ? Legacy : Native;
    }
}
