using System.Text.Json;
using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

/// <summary>Reads and writes <see cref="RawReadingMessage"/> (see <see cref="MessageJson"/>).</summary>
public sealed class RawReadingMessageConverter : JsonConverter<RawReadingMessage>
{
    private const string What = "raw reading message";
    private static readonly string[] Names = ["sensorId", "recordedAt", "value", "receivedAt", "source"];

    public override RawReadingMessage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        MessageJson.ExpectStartObject(ref reader, What);
        string? sensorId = null;
        string? source = null;
        DateTimeOffset? recordedAt = null;
        DateTimeOffset? receivedAt = null;
        double? value = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            switch (MessageJson.Property(ref reader, Names, "sensorId"u8, "recordedAt"u8, "value"u8, "receivedAt"u8, "source"u8))
            {
                case 0: sensorId = MessageJson.RequiredString(ref reader, Names[0]); break;
                case 1: recordedAt = MessageJson.Time(ref reader, Names[1]); break;
                case 2: value = MessageJson.Double(ref reader, Names[2]); break;
                case 3: receivedAt = MessageJson.Time(ref reader, Names[3]); break;
                case 4: source = MessageJson.OptionalString(ref reader, Names[4]); break;
                default: reader.Skip(); break;
            }
        }

        return new RawReadingMessage
        {
            SensorId = MessageJson.Required(sensorId, "sensorId", What),
            RecordedAt = MessageJson.Required(recordedAt, "recordedAt", What),
            Value = MessageJson.Required(value, "value", What),
            ReceivedAt = MessageJson.Required(receivedAt, "receivedAt", What),
            Source = source,
        };
    }

    public override void Write(Utf8JsonWriter writer, RawReadingMessage value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        writer.WriteString("sensorId"u8, value.SensorId);
        writer.WriteString("recordedAt"u8, value.RecordedAt);
        writer.WriteNumber("value"u8, value.Value);
        writer.WriteString("receivedAt"u8, value.ReceivedAt);
        if (value.Source is not null)
        {
            writer.WriteString("source"u8, value.Source);
        }

        writer.WriteEndObject();
    }
}
