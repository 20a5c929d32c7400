using System.Text;
using System.Text.Json;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Tests.Unit;

/// <summary>The Kafka messages' hand-written converters: the wire format, old messages, poison.</summary>
public sealed class MessageJsonTests
{
    private static readonly DateTimeOffset Recorded = new(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero);
    private static readonly DateTimeOffset Received = new(2026, 1, 1, 0, 0, 1, TimeSpan.Zero);

    private static string Write<T>(T value) =>
        Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(value, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)PipelineJsonContext.Default.GetTypeInfo(typeof(T))!));

    private static RawReadingMessage? ReadRaw(string json) =>
        JsonSerializer.Deserialize(Encoding.UTF8.GetBytes(json), PipelineJsonContext.Default.RawReadingMessage);

    private static CalibrationRequest? ReadRequest(string json) =>
        JsonSerializer.Deserialize(Encoding.UTF8.GetBytes(json), PipelineJsonContext.Default.CalibrationRequest);

    [Fact]
    public void Raw_reading_is_written_in_the_web_format_and_read_back()
    {
        var message = new RawReadingMessage { SensorId = "s-1", RecordedAt = Recorded, Value = 21.5, ReceivedAt = Received };
        var json = Write(message);
        Assert.Equal("""{"sensorId":"s-1","recordedAt":"2026-01-01T00:00:00.5+00:00","value":21.5,"receivedAt":"2026-01-01T00:00:01+00:00"}""", json);
        Assert.Equal(message, ReadRaw(json));

        var withSource = message with { Source = "gateway-7", Value = -0.125 };
        Assert.Equal(withSource, ReadRaw(Write(withSource)));
    }

    [Fact]
    public void Calibration_request_is_written_in_the_web_format_and_read_back()
    {
        var request = new CalibrationRequest { RawDataId = 9_007_199_254_740_993, SensorId = "s-1", RecordedAt = Recorded, RawValue = 20.25, ReceivedAt = Received };
        var json = Write(request);
        Assert.Equal("""{"rawDataId":9007199254740993,"sensorId":"s-1","recordedAt":"2026-01-01T00:00:00.5+00:00","rawValue":20.25,"receivedAt":"2026-01-01T00:00:01+00:00"}""", json);
        Assert.Equal(request, ReadRequest(json));
    }

    [Fact]
    public void Messages_written_before_the_converters_and_by_other_clients_are_read()
    {
        // System.Text.Json's web defaults wrote "source": null; other clients may reorder,
        // capitalise, send numbers as strings, or add fields.
        var old = ReadRaw("""{"sensorId":"s-1","recordedAt":"2026-01-01T00:00:00.5+00:00","value":21.5,"receivedAt":"2026-01-01T00:00:01+00:00","source":null}""");
        Assert.Equal(new RawReadingMessage { SensorId = "s-1", RecordedAt = Recorded, Value = 21.5, ReceivedAt = Received }, old);

        var other = ReadRequest("""{"extra":{"a":[1,2,{"b":null}]},"ReceivedAt":"2026-01-01T00:00:01Z","RAWVALUE":"20.25","SensorId":"s-1","rawDataId":"42","recordedAt":"2026-01-01T01:00:00.5+01:00"}""");
        Assert.Equal(new CalibrationRequest { RawDataId = 42, SensorId = "s-1", RecordedAt = Recorded, RawValue = 20.25, ReceivedAt = Received }, other);
        Assert.Equal(TimeSpan.FromHours(1), other!.RecordedAt.Offset);
    }

    [Theory]
    [InlineData("""{"recordedAt":"2026-01-01T00:00:00Z","value":1,"receivedAt":"2026-01-01T00:00:00Z"}""", "no 'sensorId'")]
    [InlineData("""{"sensorId":null,"recordedAt":"2026-01-01T00:00:00Z","value":1,"receivedAt":"2026-01-01T00:00:00Z"}""", "'sensorId' must be a string")]
    [InlineData("""{"sensorId":"s","recordedAt":"yesterday","value":1,"receivedAt":"2026-01-01T00:00:00Z"}""", "'recordedAt' must be an ISO 8601")]
    [InlineData("""{"sensorId":"s","recordedAt":"2026-01-01T00:00:00Z","value":"warm","receivedAt":"2026-01-01T00:00:00Z"}""", "'value' must be a number")]
    [InlineData("""{"sensorId":"s","recordedAt":"2026-01-01T00:00:00Z","value":1}""", "no 'receivedAt'")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    public void Raw_reading_that_cannot_be_decoded_throws_a_JsonException_that_names_the_field(string json, string expected)
    {
        var error = Assert.Throws<JsonException>(() => ReadRaw(json));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"sensorId":"s","recordedAt":"2026-01-01T00:00:00Z","rawValue":1,"receivedAt":"2026-01-01T00:00:00Z"}""", "no 'rawDataId'")]
    [InlineData("""{"rawDataId":1.5,"sensorId":"s","recordedAt":"2026-01-01T00:00:00Z","rawValue":1,"receivedAt":"2026-01-01T00:00:00Z"}""", "'rawDataId' must be a whole number")]
    [InlineData("""{"rawDataId":1,"sensorId":"s","recordedAt":"2026-01-01T00:00:00Z","receivedAt":"2026-01-01T00:00:00Z"}""", "no 'rawValue'")]
    public void Calibration_request_that_cannot_be_decoded_throws_a_JsonException_that_names_the_field(string json, string expected)
    {
        var error = Assert.Throws<JsonException>(() => ReadRequest(json));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"sensorId":"s","recordedAt":"2026-01-01T00:00:00Z",""")]
    [InlineData("""{"sensorId":"s" "value":1}""")]
    public void Truncated_or_malformed_json_throws_a_JsonException(string json) =>
        Assert.ThrowsAny<JsonException>(() => ReadRaw(json));
}
