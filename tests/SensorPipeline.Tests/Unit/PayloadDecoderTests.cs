using System.Text;
using System.Text.Json;
using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Ingest.Formats;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Tests.Unit;

/// <summary>The formats side by side: recognition, exact values in their units, the conversion to Celsius, the ledger's message fields.</summary>
public sealed class PayloadDecoderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 5, 0, TimeSpan.Zero);

    private static DecodedPayload Decode(IPayloadDecoder decoder, string body, string? device = null) =>
        decoder.Decode(Encoding.UTF8.GetBytes(body), new DecodeContext(ReadingLimits.Default, Now, device));

    [Theory]
    [InlineData("""{"id":4711,"t":7135,"ts":1732953600}""", "legacy")]
    [InlineData("""[{"ts":1732953600,"t":7135,"id":4711}]""", "legacy")]
    [InlineData("""{"sensorId":"s-1","recordedAt":"2026-11-23T10:00:00Z","value":20.5}""", "native")]
    [InlineData("""[{"sensorId":"s-1","recordedAt":"2026-11-23T10:00:00Z","value":20.5}]""", "native")]
    [InlineData("""{"id":1,"ts":2,"sensorId":"s-1"}""", "native")]
    [InlineData("{not json", "native")]
    [InlineData("", "native")]
    [InlineData("42", "native")]
    public void A_readings_payload_is_recognised_by_its_first_reading_s_fields(string body, string format)
    {
        Assert.Equal(format, PayloadDecoders.ForReadings(Encoding.UTF8.GetBytes(body)).Name);
    }

    [Fact]
    public void Legacy_reading_is_kept_in_hundredths_of_a_degree_Fahrenheit_and_names_its_device_sensor()
    {
        var decoded = Decode(PayloadDecoders.Legacy, """[{"id":4711,"t":7135,"ts":1764540000},{"id":4711,"t":-4000,"ts":1764540060}]""");

        Assert.Empty(decoded.Errors);
        Assert.Equal(2, decoded.Readings.Count);
        var first = decoded.Readings[0];
        Assert.Equal("legacy-4711", first.SensorId);
        Assert.Equal(7135, first.Value);
        Assert.Equal(ReadingUnits.HundredthsFahrenheit, first.Unit);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764540000), first.RecordedAt);
        Assert.Equal(Now, first.ReceivedAt);
        Assert.Equal(21.861, Math.Round(ReadingUnits.ToCelsius(first.Value, first.Unit), 3));
        Assert.Equal(-40, ReadingUnits.ToCelsius(decoded.Readings[1].Value, decoded.Readings[1].Unit), 9);
    }

    [Fact]
    public void Legacy_problems_are_all_listed_by_index_and_field_and_yield_no_readings()
    {
        var decoded = Decode(PayloadDecoders.Legacy, """[{"id":0,"t":7135,"ts":1764540000},{"id":5,"t":"warm","ts":1764540000},{"id":6,"t":7135},{"id":7,"t":999999,"ts":1764540000,"x":1}]""");

        Assert.Empty(decoded.Readings);
        Assert.Equal(
            [
                new ReadingError(0, "id", "Must be a positive whole number."),
                new ReadingError(1, "t", "Must be a whole number."),
                new ReadingError(2, "ts", "Required."),
                new ReadingError(3, "x", "Unknown field. Allowed: id, t, ts."),
                new ReadingError(3, "t", "Is 5537.772 °C; must be between -1000 and 1000."),
            ],
            decoded.Errors);
    }

    [Fact]
    public void Frame_channels_are_big_endian_hundredths_of_a_degree_Celsius_and_0x8000_is_skipped()
    {
        var decoded = Decode(PayloadDecoders.Frame, """{"ts":"2026-11-23T10:00:00Z","data":"08668000FF387FFF"}""", "ctl-9");

        Assert.Empty(decoded.Errors);
        Assert.Equal(["ctl-9:ch1", "ctl-9:ch3", "ctl-9:ch4"], decoded.Readings.Select(r => r.SensorId));
        Assert.Equal([2150.0, -200.0, 32767.0], decoded.Readings.Select(r => r.Value));
        Assert.All(decoded.Readings, r => Assert.Equal(ReadingUnits.HundredthsCelsius, r.Unit));
        Assert.All(decoded.Readings, r => Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero), r.RecordedAt));
        Assert.Equal([21.5, -2.0, 327.67], decoded.Readings.Select(r => ReadingUnits.ToCelsius(r.Value, r.Unit)));
    }

    [Fact]
    public void A_frame_of_no_readings_only_is_accepted_with_no_readings()
    {
        var decoded = Decode(PayloadDecoders.Frame, """{"ts":"2026-11-23T10:00:00Z","data":"80008000"}""", "ctl-9");

        Assert.Empty(decoded.Errors);
        Assert.Empty(decoded.Readings);
    }

    [Theory]
    [InlineData("""{"ts":"2026-11-23T10:00:00Z","data":"0866F"}""", "data")]
    [InlineData("""{"ts":"2026-11-23T10:00:00Z","data":"08zz"}""", "data")]
    [InlineData("""{"ts":"2026-11-23T10:00:00Z","data":""}""", "data")]
    [InlineData("""{"ts":"2026-11-23T10:00:00","data":"0866"}""", "ts")]
    [InlineData("""{"ts":"2026-11-24T10:00:00Z","data":"0866"}""", "ts")]
    [InlineData("""{"data":"0866"}""", "ts")]
    [InlineData("""{"ts":"2026-11-23T10:00:00Z","data":"0866","extra":1}""", "extra")]
    public void A_bad_frame_is_refused_naming_the_field(string body, string field)
    {
        var decoded = Decode(PayloadDecoders.Frame, body, "ctl-9");

        Assert.Empty(decoded.Readings);
        Assert.Equal(field, Assert.Single(decoded.Errors).Field);
    }

    [Fact]
    public void A_frame_needs_a_valid_device_from_its_route()
    {
        Assert.Single(Decode(PayloadDecoders.Frame, """{"ts":"2026-11-23T10:00:00Z","data":"0866"}""", "bad device").Errors);
        Assert.Single(Decode(PayloadDecoders.Frame, """{"ts":"2026-11-23T10:00:00Z","data":"0866"}""", null).Errors);
    }

    [Fact]
    public void Calibration_converts_to_Celsius_first_then_applies_gain_and_offset()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        CalibrationRequest Request(long id, double raw, string? unit) =>
            new() { RawDataId = id, SensorId = "s", RecordedAt = at.AddMinutes(id), RawValue = raw, ReceivedAt = at, Unit = unit };
        var identity = new Dictionary<string, List<CalibrationVersion>>();
        var scaled = new Dictionary<string, List<CalibrationVersion>> { ["s"] = [new("s", 1, at.AddYears(-1), 2.0, 1.0)] };

        var plain = ReadingCalibrator.Calibrate([Request(1, 7135, ReadingUnits.HundredthsFahrenheit), Request(2, 2150, ReadingUnits.HundredthsCelsius), Request(3, 20.5, null)], identity);
        var withParameters = ReadingCalibrator.Calibrate([Request(1, 7135, ReadingUnits.HundredthsFahrenheit)], scaled);

        Assert.Equal(21.861, Math.Round(plain[0].Value, 3));
        Assert.Equal(21.5, plain[1].Value, 12);
        Assert.Equal(20.5, plain[2].Value);
        Assert.Equal((2.0 * ((71.35 - 32) * 5 / 9)) + 1.0, withParameters[0].Value, 9);
    }

    [Fact]
    public void A_reading_message_carries_its_unit_and_payload_and_reads_back_equal()
    {
        var payload = new PayloadInfo
        {
            Id = Guid.CreateVersion7(Now), ReceivedAt = Now, Door = "mqtt", DeviceId = "ctl-9", Source = null, Format = "frame", DecoderVersion = 1,
            SizeBytes = 52, Sha256 = new string('a', 64), ReadingCount = 3, Content = Encoding.UTF8.GetBytes("{\"ts\":...}"),
        };
        var message = new RawReadingMessage { SensorId = "ctl-9:ch1", RecordedAt = Now, Value = 2150, ReceivedAt = Now, Unit = ReadingUnits.HundredthsCelsius, Payload = payload };

        var json = JsonSerializer.Serialize(message, PipelineJsonContext.Default.RawReadingMessage);
        var back = JsonSerializer.Deserialize(json, PipelineJsonContext.Default.RawReadingMessage)!;

        Assert.Equal(message with { Payload = null }, back with { Payload = null });
        Assert.Equal(payload with { Content = null }, back.Payload! with { Content = null });
        Assert.Equal(payload.Content, back.Payload!.Content);
        // A later message of the payload carries only its id.
        var later = message with { SensorId = "ctl-9:ch2", Payload = null, PayloadId = payload.Id };
        var laterJson = JsonSerializer.Serialize(later, PipelineJsonContext.Default.RawReadingMessage);
        Assert.DoesNotContain("\"payload\"", laterJson, StringComparison.Ordinal);
        var laterBack = JsonSerializer.Deserialize(laterJson, PipelineJsonContext.Default.RawReadingMessage)!;
        Assert.Equal(later, laterBack);
        Assert.Equal(payload.Id, laterBack.PayloadIdOrFull);
        // A message of before the ledger (no unit, no payload) still reads: Celsius, no payload.
        var old = JsonSerializer.Deserialize("""{"sensorId":"s","recordedAt":"2026-11-23T10:00:00Z","value":1,"receivedAt":"2026-11-23T10:00:00Z"}""", PipelineJsonContext.Default.RawReadingMessage)!;
        Assert.Null(old.Unit);
        Assert.Null(old.Payload);
    }

    [Fact]
    public void Messages_of_one_payload_read_back_with_the_same_metadata_and_only_the_first_with_content()
    {
        PayloadInfo Info(Guid id, string device) => new()
        {
            Id = id, ReceivedAt = Now, Door = "http", DeviceId = device, Format = "native", DecoderVersion = 1, SizeBytes = 9, Sha256 = device, ReadingCount = 3,
        };
        var a = Info(Guid.CreateVersion7(Now), "a");
        var b = Info(Guid.CreateVersion7(Now.AddSeconds(1)), "b");
        RawReadingMessage Message(PayloadInfo p, int i) => new() { SensorId = "s" + i, RecordedAt = Now, Value = i, ReceivedAt = Now, Payload = p };
        var sent = new[] { Message(a with { Content = [1, 2, 3] }, 0), Message(a, 1), Message(a, 2), Message(b, 3), Message(a, 4), Message(b with { Content = [9] }, 5) };

        var json = sent.Select(m => JsonSerializer.Serialize(m, PipelineJsonContext.Default.RawReadingMessage)).ToList();
        var back = json.Select(j => JsonSerializer.Deserialize(j, PipelineJsonContext.Default.RawReadingMessage)!).ToList();

        Assert.Equal(sent.Select(m => m.Payload! with { Content = null }), back.Select(m => m.Payload! with { Content = null }));
        Assert.Equal(sent.Select(m => m.Payload!.Content is null ? "" : Convert.ToHexString(m.Payload.Content)), back.Select(m => m.Payload!.Content is null ? "" : Convert.ToHexString(m.Payload.Content)));
        Assert.Equal(sent.Select(m => m with { Payload = null }), back.Select(m => m with { Payload = null }));
    }

    [Fact]
    public void The_ledger_keeps_the_first_4_KiB_and_the_hash_of_the_whole()
    {
        var big = Encoding.UTF8.GetBytes(new string('x', 5000));

        Assert.Equal(PayloadContent.MaxStoredBytes, PayloadContent.Capped(big).Length);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(big)), PayloadContent.Sha256Hex(big));
        Assert.Equal(3, PayloadContent.Capped("abc"u8).Length);
    }
}
