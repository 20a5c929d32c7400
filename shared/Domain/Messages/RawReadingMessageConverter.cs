using System.Text.Json;
using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

/// <summary>Reads and writes <see cref="RawReadingMessage"/> (see <see cref="MessageJson"/>), with its <see cref="PayloadInfo"/>.</summary>
/// <remarks>
/// The doors put the payload object on a payload's first message and only its id (<c>pid</c>) on
/// the others. Should several messages carry the same payload object, it costs once: written, its
/// JSON is made once per payload (the last one per thread, by reference) and copied; read, a payload
/// object whose <c>id</c> (written first) is the one the previous message of this thread had is that
/// same <see cref="PayloadInfo"/> (plus any content): the rest of the object is skipped.
/// </remarks>
public sealed class RawReadingMessageConverter : JsonConverter<RawReadingMessage>
{
    [ThreadStatic]
    private static PayloadInfo? _lastWritten;

    [ThreadStatic]
    private static byte[]? _lastWrittenJson;

    [ThreadStatic]
    private static PayloadInfo? _lastRead;

    private const string What = "raw reading message";
    private const string WhatPayload = "payload";
    private static readonly string[] Names = ["sensorId", "recordedAt", "value", "receivedAt", "source", "unit", "payload", "pid"];
    /// <summary>
    /// The payload object's short names (it is on every message): id, door, format, decoder version,
    /// reading count, device, source, size, SHA-256 (hex), content (base64), and receivedAt — only
    /// when it differs from the message's own, which it does not at any door (so it is not written).
    /// </summary>
    private static readonly string[] PayloadNames = ["id", "d", "f", "v", "c", "dev", "src", "n", "h", "body", "receivedAt"];

    public override RawReadingMessage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        MessageJson.ExpectStartObject(ref reader, What);
        string? sensorId = null;
        string? source = null;
        string? unit = null;
        PayloadInfo? payload = null;
        Guid? payloadId = null;
        DateTimeOffset? recordedAt = null;
        DateTimeOffset? receivedAt = null;
        double? value = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            // The two newer names compared as UTF-8 too (the exact spelling this converter writes).
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("pid"u8))
            {
                reader.Read();
                payloadId = reader.TokenType == JsonTokenType.String && reader.TryGetGuid(out var pid) ? pid : throw new JsonException("'pid' must be a UUID string.");
                continue;
            }

            if (reader.TokenType == JsonTokenType.PropertyName && (reader.ValueTextEquals("unit"u8) || reader.ValueTextEquals("payload"u8)))
            {
                var isUnit = reader.ValueTextEquals("unit"u8);
                reader.Read();
                if (isUnit)
                {
                    unit = MessageJson.OptionalString(ref reader, Names[5]);
                }
                else
                {
                    payload = reader.TokenType == JsonTokenType.Null ? null : ReadPayload(ref reader, receivedAt);
                }

                continue;
            }

            switch (MessageJson.Property(ref reader, Names, "sensorId"u8, "recordedAt"u8, "value"u8, "receivedAt"u8, "source"u8))
            {
                case 0: sensorId = MessageJson.RequiredString(ref reader, Names[0]); break;
                case 1: recordedAt = MessageJson.Time(ref reader, Names[1]); break;
                case 2: value = MessageJson.Double(ref reader, Names[2]); break;
                case 3: receivedAt = MessageJson.Time(ref reader, Names[3]); break;
                case 4: source = MessageJson.OptionalString(ref reader, Names[4]); break;
                case 5: unit = MessageJson.OptionalString(ref reader, Names[5]); break;
                case 6: payload = reader.TokenType == JsonTokenType.Null ? null : ReadPayload(ref reader, receivedAt); break;
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
            Unit = unit,
            PayloadId = payloadId,
            // A payload object read before the message's receivedAt (another property order) gets it now.
            Payload = payload is { ReceivedAt.Ticks: 0 } && receivedAt is { } at ? payload with { ReceivedAt = at } : payload,
        };
    }

    private static PayloadInfo ReadPayload(ref Utf8JsonReader reader, DateTimeOffset? messageReceivedAt)
    {
        MessageJson.ExpectStartObject(ref reader, WhatPayload);
        if (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("id"u8)
            && reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetGuid(out var first)
            && _lastRead is { } last && last.Id == first && (messageReceivedAt is null || messageReceivedAt == last.ReceivedAt))
        {
            // Another message of the payload the previous one had: only its content (if any) is new.
            byte[]? content = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var isContent = reader.ValueTextEquals("body"u8);
                reader.Read();
                if (isContent && reader.TokenType != JsonTokenType.Null)
                {
                    content = reader.TokenType == JsonTokenType.String && reader.TryGetBytesFromBase64(out var b) ? b : throw new JsonException("A payload's content must be base64.");
                }

                reader.Skip();
            }

            return content is null ? last : last with { Content = content };
        }

        var payload = ReadPayloadRest(ref reader, messageReceivedAt);
        _lastRead = payload.Content is null ? payload : payload with { Content = null };
        return payload;
    }

    /// <summary>Reads a payload object from its current token on (its first property name, or the id's value when that was read).</summary>
    private static PayloadInfo ReadPayloadRest(ref Utf8JsonReader reader, DateTimeOffset? messageReceivedAt)
    {
        Guid? id = null;
        DateTimeOffset? receivedAt = null;
        string? door = null, format = null, device = null, source = null, sha256 = null;
        long? version = null, size = null, count = null;
        byte[]? content = null;
        if (reader.TokenType == JsonTokenType.String)
        {
            // The id's value, read by the caller.
            id = reader.TryGetGuid(out var g0) ? g0 : throw new JsonException("A payload's id must be a UUID string.");
            reader.Read();
        }

        for (; reader.TokenType != JsonTokenType.EndObject; reader.Read())
        {
            switch (MessageJson.Property(ref reader, PayloadNames, "id"u8, "d"u8, "f"u8, "v"u8, "c"u8))
            {
                case 0:
                    id = reader.TokenType == JsonTokenType.String && reader.TryGetGuid(out var g) ? g : throw new JsonException("A payload's id must be a UUID string.");
                    break;
                case 1: door = MessageJson.RequiredString(ref reader, PayloadNames[1]); break;
                case 2: format = MessageJson.RequiredString(ref reader, PayloadNames[2]); break;
                case 3: version = MessageJson.Int64(ref reader, PayloadNames[3]); break;
                case 4: count = MessageJson.Int64(ref reader, PayloadNames[4]); break;
                case 5: device = MessageJson.OptionalString(ref reader, PayloadNames[5]); break;
                case 6: source = MessageJson.OptionalString(ref reader, PayloadNames[6]); break;
                case 7: size = MessageJson.Int64(ref reader, PayloadNames[7]); break;
                case 8: sha256 = MessageJson.RequiredString(ref reader, PayloadNames[8]); break;
                case 9:
                    content = reader.TokenType == JsonTokenType.Null ? null
                        : reader.TokenType == JsonTokenType.String && reader.TryGetBytesFromBase64(out var b) ? b
                        : throw new JsonException("A payload's content must be base64.");
                    break;
                case 10: receivedAt = MessageJson.Time(ref reader, PayloadNames[10]); break;
                default: reader.Skip(); break;
            }
        }

        return new PayloadInfo
        {
            Id = MessageJson.Required(id, "id", WhatPayload),
            ReceivedAt = receivedAt ?? messageReceivedAt ?? default,
            Door = MessageJson.Required(door, "door", WhatPayload),
            Format = MessageJson.Required(format, "format", WhatPayload),
            DecoderVersion = checked((int)MessageJson.Required(version, "version", WhatPayload)),
            DeviceId = device,
            Source = source,
            SizeBytes = checked((int)MessageJson.Required(size, "size", WhatPayload)),
            Sha256 = MessageJson.Required(sha256, "sha256", WhatPayload),
            ReadingCount = checked((int)MessageJson.Required(count, "count", WhatPayload)),
            Content = content,
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

        if (value.Unit is not null)
        {
            writer.WriteString("unit"u8, value.Unit);
        }

        if (value.PayloadId is { } id && value.Payload is null)
        {
            writer.WriteString("pid"u8, id);
        }

        if (value.Payload is { } p)
        {
            writer.WritePropertyName("payload"u8);
            if (p.ReceivedAt != value.ReceivedAt)
            {
                writer.WriteRawValue(PayloadJson(p, p.ReceivedAt), skipInputValidation: true);
            }
            else
            {
                if (!ReferenceEquals(p, _lastWritten) || _lastWrittenJson is null)
                {
                    _lastWrittenJson = PayloadJson(p, null);
                    _lastWritten = p;
                }

                writer.WriteRawValue(_lastWrittenJson, skipInputValidation: true);
            }
        }

        writer.WriteEndObject();
    }

    private static byte[] PayloadJson(PayloadInfo p, DateTimeOffset? receivedAt)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, p.Id);
            writer.WriteString("d"u8, p.Door);
            writer.WriteString("f"u8, p.Format);
            writer.WriteNumber("v"u8, p.DecoderVersion);
            writer.WriteNumber("c"u8, p.ReadingCount);
            if (p.DeviceId is not null)
            {
                writer.WriteString("dev"u8, p.DeviceId);
            }

            if (p.Source is not null)
            {
                writer.WriteString("src"u8, p.Source);
            }

            writer.WriteNumber("n"u8, p.SizeBytes);
            writer.WriteString("h"u8, p.Sha256);
            if (receivedAt is { } at)
            {
                writer.WriteString("receivedAt"u8, at);
            }

            if (p.Content is not null)
            {
                writer.WriteBase64String("body"u8, p.Content);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
