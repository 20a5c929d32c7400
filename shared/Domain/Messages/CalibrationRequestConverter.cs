using System.Text.Json;
using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

/// <summary>Reads and writes <see cref="CalibrationRequest"/> (see <see cref="MessageJson"/>).</summary>
public sealed class CalibrationRequestConverter : JsonConverter<CalibrationRequest>
{
    private const string What = "calibration request";
    private static readonly string[] Names = ["rawDataId", "sensorId", "recordedAt", "rawValue", "receivedAt", "unit"];

    public override CalibrationRequest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        MessageJson.ExpectStartObject(ref reader, What);
        long? rawDataId = null;
        string? sensorId = null;
        DateTimeOffset? recordedAt = null;
        DateTimeOffset? receivedAt = null;
        double? rawValue = null;
        string? unit = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            switch (MessageJson.Property(ref reader, Names, "rawDataId"u8, "sensorId"u8, "recordedAt"u8, "rawValue"u8, "receivedAt"u8))
            {
                case 0: rawDataId = MessageJson.Int64(ref reader, Names[0]); break;
                case 1: sensorId = MessageJson.RequiredString(ref reader, Names[1]); break;
                case 2: recordedAt = MessageJson.Time(ref reader, Names[2]); break;
                case 3: rawValue = MessageJson.Double(ref reader, Names[3]); break;
                case 4: receivedAt = MessageJson.Time(ref reader, Names[4]); break;
                case 5: unit = MessageJson.OptionalString(ref reader, Names[5]); break;
                default: reader.Skip(); break;
            }
        }

        return new CalibrationRequest
        {
            RawDataId = MessageJson.Required(rawDataId, "rawDataId", What),
            SensorId = MessageJson.Required(sensorId, "sensorId", What),
            RecordedAt = MessageJson.Required(recordedAt, "recordedAt", What),
            RawValue = MessageJson.Required(rawValue, "rawValue", What),
            ReceivedAt = MessageJson.Required(receivedAt, "receivedAt", What),
            Unit = unit,
        };
    }

    public override void Write(Utf8JsonWriter writer, CalibrationRequest value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        writer.WriteNumber("rawDataId"u8, value.RawDataId);
        writer.WriteString("sensorId"u8, value.SensorId);
        writer.WriteString("recordedAt"u8, value.RecordedAt);
        writer.WriteNumber("rawValue"u8, value.RawValue);
        writer.WriteString("receivedAt"u8, value.ReceivedAt);
        if (value.Unit is not null)
        {
            writer.WriteString("unit"u8, value.Unit);
        }

        writer.WriteEndObject();
    }
}
