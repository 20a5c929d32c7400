using System.Text;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Tests.Unit;

public sealed class ReadingRequestParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static (IReadOnlyList<RawReadingMessage> Readings, IReadOnlyList<ReadingError> Errors) Parse(string body, ReadingLimits? limits = null) =>
        ReadingRequestParser.Parse(Encoding.UTF8.GetBytes(body), limits ?? ReadingLimits.Default, Now);

    private static string Reading(string sensorId = "\"sensor-1\"", string recordedAt = "\"2026-03-10T11:00:00Z\"", string value = "21.5", string extra = "") =>
        $$"""{"sensorId":{{sensorId}},"recordedAt":{{recordedAt}},"value":{{value}}{{extra}}}""";

    /// <summary>The one error of a request whose single reading (sent as an array) has one bad field.</summary>
    private static ReadingError OnlyErrorOf(string reading)
    {
        var (readings, errors) = Parse($"[{Reading()},{reading}]");
        Assert.Empty(readings);
        return Assert.Single(errors);
    }

    [Fact]
    public void Parse_accepts_a_single_reading_object()
    {
        var (readings, errors) = Parse(Reading(extra: ""","source":"gateway-7" """));

        Assert.Empty(errors);
        var reading = Assert.Single(readings);
        Assert.Equal("sensor-1", reading.SensorId);
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 11, 0, 0, TimeSpan.Zero), reading.RecordedAt);
        Assert.Equal(21.5, reading.Value);
        Assert.Equal(Now, reading.ReceivedAt);
        Assert.Equal("gateway-7", reading.Source);
    }

    [Fact]
    public void Parse_accepts_an_array_of_readings_in_order()
    {
        var (readings, errors) = Parse($"""[{Reading("\"a\"", value: "-1000")},{Reading("\"b.c:d_e-f\"", value: "1000", extra: ",\"source\":null")}]""");

        Assert.Empty(errors);
        Assert.Equal(["a", "b.c:d_e-f"], readings.Select(r => r.SensorId));
        Assert.Equal([-1000.0, 1000.0], readings.Select(r => r.Value));
        Assert.All(readings, r => Assert.Equal(Now, r.ReceivedAt));
        Assert.Null(readings[1].Source);
    }

    [Fact]
    public void Parse_normalises_an_offset_to_the_same_instant_in_utc()
    {
        var (readings, _) = Parse(Reading(recordedAt: "\"2026-03-10T13:30:15.250+02:00\""));

        var reading = Assert.Single(readings);
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 11, 30, 15, 250, TimeSpan.Zero), reading.RecordedAt);
        Assert.Equal(TimeSpan.Zero, reading.RecordedAt.Offset);
    }

    [Fact]
    public void Parse_accepts_a_reading_exactly_at_the_future_skew_limit()
    {
        var (readings, errors) = Parse(Reading(recordedAt: "\"2026-03-10T12:05:00Z\""));

        Assert.Empty(errors);
        Assert.Single(readings);
    }

    [Fact]
    public void Parse_rejects_whole_request_when_one_reading_is_invalid()
    {
        var (readings, errors) = Parse($"[{Reading("\"a\"")},{Reading("\"b\"", value: "5000")},{Reading("\"c\"")}]");

        Assert.Empty(readings);
        var error = Assert.Single(errors);
        Assert.Equal((1, "value"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_reports_every_error_with_its_index_and_field()
    {
        var body = "[" + string.Join(",",
            Reading(),
            """{"recordedAt":"2026-03-10T11:00:00Z","value":1}""",
            Reading("\"bad id\"", recordedAt: "\"2026-03-10T11:00:00\"", value: "\"NaN\""),
            Reading(extra: ",\"temperature\":1"),
            "\"not an object\"") + "]";

        var (readings, errors) = Parse(body);

        Assert.Empty(readings);
        Assert.Equal(
            new (int?, string?)[] { (1, "sensorId"), (2, "sensorId"), (2, "recordedAt"), (2, "value"), (3, "temperature"), (4, null) },
            errors.Select(e => (e.Index, e.Field)));
    }

    [Fact]
    public void Parse_reports_a_missing_sensor_id()
    {
        var error = OnlyErrorOf("""{"recordedAt":"2026-03-10T11:00:00Z","value":1}""");

        Assert.Equal((1, "sensorId", "Required."), (error.Index, error.Field, error.Message));
    }

    [Theory]
    [InlineData("\"sensor 1\"")]
    [InlineData("\"abc\\n\"")]
    [InlineData("\"\"")]
    [InlineData("\"sensor/1\"")]
    [InlineData("\"ü\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void Parse_rejects_a_bad_sensor_id(string sensorId)
    {
        var error = OnlyErrorOf(Reading(sensorId));

        Assert.Equal((1, "sensorId"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_accepts_a_64_character_sensor_id_and_rejects_65()
    {
        var (accepted, _) = Parse(Reading($"\"{new string('a', 64)}\""));
        Assert.Equal(new string('a', 64), Assert.Single(accepted).SensorId);

        var error = OnlyErrorOf(Reading($"\"{new string('a', 65)}\""));
        Assert.Equal((1, "sensorId"), (error.Index, error.Field));
    }

    [Theory]
    [InlineData("\"2026-03-10T11:00:00\"")]
    [InlineData("\"2026-03-10 11:00:00Z\"")]
    [InlineData("\"2026-03-10\"")]
    [InlineData("\"2026-03-10T11:00:00+0200\"")]
    [InlineData("\"2026-02-30T11:00:00Z\"")]
    [InlineData("\"2026-03-10T11:00:00Z\\n\"")]
    [InlineData("\"yesterday\"")]
    public void Parse_rejects_a_recorded_at_that_is_not_iso_8601_with_an_offset(string recordedAt)
    {
        var error = OnlyErrorOf(Reading(recordedAt: recordedAt));

        Assert.Equal((1, "recordedAt"), (error.Index, error.Field));
    }

    [Theory]
    [InlineData("1773140400")]
    [InlineData("null")]
    [InlineData("{}")]
    public void Parse_rejects_a_recorded_at_that_is_not_a_string(string recordedAt)
    {
        var error = OnlyErrorOf(Reading(recordedAt: recordedAt));

        Assert.Equal((1, "recordedAt"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_rejects_a_recorded_at_too_far_in_the_future_of_now()
    {
        var error = OnlyErrorOf(Reading(recordedAt: "\"2026-03-10T12:05:01Z\""));

        Assert.Equal((1, "recordedAt"), (error.Index, error.Field));
        Assert.Contains("300 s", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"NaN\"")]
    [InlineData("\"21.5\"")]
    [InlineData("null")]
    [InlineData("true")]
    public void Parse_rejects_a_value_that_is_not_a_number(string value)
    {
        var error = OnlyErrorOf(Reading(value: value));

        Assert.Equal((1, "value", "Must be a JSON number."), (error.Index, error.Field, error.Message));
    }

    [Theory]
    [InlineData("1000.001")]
    [InlineData("-1000.5")]
    [InlineData("1e300")]
    public void Parse_rejects_a_value_out_of_range(string value)
    {
        var error = OnlyErrorOf(Reading(value: value));

        Assert.Equal((1, "value", "Must be between -1000 and 1000."), (error.Index, error.Field, error.Message));
    }

    [Fact]
    public void Parse_rejects_a_value_too_large_for_a_double()
    {
        var error = OnlyErrorOf(Reading(value: "1e400"));

        Assert.Equal((1, "value"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_rejects_a_missing_value()
    {
        var error = OnlyErrorOf("""{"sensorId":"s","recordedAt":"2026-03-10T11:00:00Z"}""");

        Assert.Equal((1, "value", "Required."), (error.Index, error.Field, error.Message));
    }

    [Fact]
    public void Parse_rejects_an_unknown_field_naming_it()
    {
        var error = OnlyErrorOf(Reading(extra: ",\"SensorId\":\"x\""));

        Assert.Equal((1, "SensorId"), (error.Index, error.Field));
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"x\\u0001\"")]
    public void Parse_rejects_a_bad_source(string source)
    {
        var error = OnlyErrorOf(Reading(extra: $",\"source\":{source}"));

        Assert.Equal((1, "source"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_rejects_a_source_longer_than_128_characters()
    {
        Assert.Single(Parse(Reading(extra: $",\"source\":\"{new string('s', 128)}\"")).Readings);

        var error = OnlyErrorOf(Reading(extra: $",\"source\":\"{new string('s', 129)}\""));
        Assert.Equal((1, "source"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_errors_of_a_single_object_have_no_index()
    {
        var (readings, errors) = Parse(Reading(value: "\"x\""));

        Assert.Empty(readings);
        var error = Assert.Single(errors);
        Assert.Equal((null, "value"), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_rejects_an_empty_array_with_one_body_error()
    {
        var (readings, errors) = Parse("[]");

        Assert.Empty(readings);
        var error = Assert.Single(errors);
        Assert.Equal((null, null), (error.Index, error.Field));
    }

    [Fact]
    public void Parse_rejects_too_many_readings_with_one_body_error()
    {
        var limits = ReadingLimits.Default with { MaxReadingsPerRequest = 3 };
        Assert.Equal(3, Parse($"[{Reading()},{Reading()},{Reading()}]", limits).Readings.Count);

        var (readings, errors) = Parse($"[{Reading()},{Reading()},{Reading()},{Reading(value: "\"bad\"")}]", limits);

        Assert.Empty(readings);
        var error = Assert.Single(errors);
        Assert.Equal((null, null), (error.Index, error.Field));
        Assert.Contains("4 readings", error.Message, StringComparison.Ordinal);
        Assert.Contains("at most 3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"reading\"")]
    [InlineData("null")]
    [InlineData("true")]
    public void Parse_rejects_a_body_that_is_neither_object_nor_array(string body)
    {
        var (readings, errors) = Parse(body);

        Assert.Empty(readings);
        var error = Assert.Single(errors);
        Assert.Equal((null, null), (error.Index, error.Field));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[{\"sensorId\":\"a\",}]")]
    [InlineData("{\"sensorId\":\"a\"} trailing")]
    [InlineData("[[[[[[[[[[1]]]]]]]]]]")]
    public void Parse_rejects_malformed_json_with_one_body_error(string body)
    {
        var (readings, errors) = Parse(body);

        Assert.Empty(readings);
        var error = Assert.Single(errors);
        Assert.Equal((null, null), (error.Index, error.Field));
        Assert.StartsWith("The body is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_rejects_a_recorded_at_older_than_the_max_age_and_names_the_setting()
    {
        var error = OnlyErrorOf(Reading(recordedAt: "\"0001-01-01T00:00:00Z\""));

        Assert.Equal((1, "recordedAt"), (error.Index, error.Field));
        Assert.Contains("3650 days in the past", error.Message, StringComparison.Ordinal);
        Assert.Contains("IngestMaxAge", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_accepts_a_recorded_at_just_inside_the_max_age()
    {
        var limits = ReadingLimits.Default with { MaxAge = TimeSpan.FromDays(30) };
        var (accepted, errors) = Parse(Reading(recordedAt: "\"2026-02-08T12:00:01Z\""), limits);
        Assert.Empty(errors);
        Assert.Single(accepted);

        var (refused, tooOld) = Parse(Reading(recordedAt: "\"2026-02-08T11:59:59Z\""), limits);
        Assert.Empty(refused);
        Assert.Equal("recordedAt", Assert.Single(tooOld).Field);
    }

    [Theory]
    [InlineData("value", """{"sensorId":"a","value":1,"value":2,"recordedAt":"2026-03-10T11:00:00Z"}""")]
    [InlineData("sensorId", """{"sensorId":"a","sensorId":"b","value":1,"recordedAt":"2026-03-10T11:00:00Z"}""")]
    [InlineData("recordedAt", """{"sensorId":"a","value":1,"recordedAt":"2026-03-10T11:00:00Z","recordedAt":"2026-03-10T11:00:00Z"}""")]
    [InlineData("source", """{"sensorId":"a","value":1,"recordedAt":"2026-03-10T11:00:00Z","source":"x","source":null}""")]
    public void Parse_rejects_a_repeated_property_and_names_it(string field, string reading)
    {
        var error = OnlyErrorOf(reading);

        Assert.Equal((1, field), (error.Index, error.Field));
        Assert.Contains("more than once", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_says_the_sensor_id_must_be_ascii()
    {
        var error = OnlyErrorOf(Reading("\"température\""));

        Assert.Contains("ASCII", error.Message, StringComparison.Ordinal);
    }
}
