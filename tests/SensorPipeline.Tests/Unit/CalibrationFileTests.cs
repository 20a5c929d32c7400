using SensorPipeline.Functions.Calibrate;

namespace SensorPipeline.Tests.Unit;

/// <summary>The calibration file is checked as the PUT checks its body: every entry or none, and a refusal names its line.</summary>
public sealed class CalibrationFileTests
{
    [Fact]
    public void Two_sensors_parse_with_their_parameters_and_validFrom_only_where_given()
    {
        var (entries, refused) = CalibrationFile.Parse("""
            sensors:
              sensor-001: { gain: 0.98, offset: 2.5, validFrom: "2026-01-01T00:00:00Z" }
              sensor-002:
                gain: 1.02
                offset: -1.2
            """);
        Assert.Null(refused);
        Assert.NotNull(entries);
        Assert.Equal(2, entries.Count);
        Assert.Equal(new CalibrationFile.Entry("sensor-001", 0.98, 2.5, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), 2), entries[0]);
        Assert.Equal(new CalibrationFile.Entry("sensor-002", 1.02, -1.2, null, 3), entries[1]);
    }

    [Fact]
    public void An_empty_sensors_mapping_is_a_file_that_manages_nothing()
    {
        var (entries, refused) = CalibrationFile.Parse("sensors: {}\n");
        Assert.Null(refused);
        Assert.Empty(entries!);
    }

    [Theory]
    [InlineData("sensors:\n  a: { gain: 1, offset: 0 }\n  b: { gain: 0, offset: 1 }\n", 3, "b: gain: Must not be 0.")]
    [InlineData("sensors:\n  a: { gain: 1, offset: 0 }\n  b:\n    gain: 2\n    offset: abc\n", 5, "b: offset: Must be a finite number.")]
    [InlineData("sensors:\n  a: { gain: 1, offset: 0, validFrom: \"2026-01-01T00:00:00\" }\n", 2, "a: validFrom: Must be an ISO-8601 timestamp with an offset")]
    [InlineData("sensors:\n  a: { gain: 1, offset: 0, colour: red }\n", 2, "colour")]
    [InlineData("sensors:\n  a: { gain: 1 }\n", 2, "a: offset: Required.")]
    [InlineData("sensors:\n  \"bad id!\": { gain: 1, offset: 0 }\n", 2, "Sensor id 'bad id!'")]
    [InlineData("sensors:\n  a: { gain: 1, offset: 0 }\n   b: { gain: 2, offset: 0 }\n", 3, "Not YAML")]
    [InlineData("sensors:\n  a: { gain: 1, offset: 0 }\n  b: \"unterminated\n", 3, "Not YAML")]
    [InlineData("sensor:\n  a: { gain: 1, offset: 0 }\n", 1, "Unknown key 'sensor'")]
    [InlineData("sensors:\n  - a\n", 2, "'sensors' must be a mapping")]
    [InlineData("sensors:\n  a: { gain: 1, offset: .nan }\n", 2, "a: offset: Must be a finite number.")]
    public void A_file_with_one_bad_entry_is_refused_whole_naming_the_line(string text, int line, string reason)
    {
        var (entries, refused) = CalibrationFile.Parse(text);
        Assert.Null(entries);
        Assert.NotNull(refused);
        Assert.Contains(reason, refused.Reason, StringComparison.Ordinal);
        Assert.Equal(line, refused.Line);
        Assert.StartsWith($"line {line}: ", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Input_the_yaml_scanner_gives_up_on_is_refused_too()
    {
        var (entries, refused) = CalibrationFile.Parse("sensors:\n  a: { gain: 1, offset: 0\n  b: [\n");
        Assert.Null(entries);
        Assert.StartsWith("Not YAML", refused!.Reason, StringComparison.Ordinal);
        Assert.Equal(2, refused.Line);
    }

    [Fact]
    public void A_sensor_given_twice_is_refused()
    {
        var (entries, refused) = CalibrationFile.Parse("sensors:\n  a: { gain: 1, offset: 0 }\n  a: { gain: 2, offset: 0 }\n");
        Assert.Null(entries);
        Assert.NotNull(refused);
    }

    [Fact]
    public void The_hash_depends_on_the_content_only()
    {
        Assert.Equal(CalibrationFile.Hash("sensors: {}"u8), CalibrationFile.Hash("sensors: {}"u8));
        Assert.NotEqual(CalibrationFile.Hash("sensors: {}"u8), CalibrationFile.Hash("sensors: {} "u8));
    }
}
