using SensorPipeline.Domain.Calibration;

namespace SensorPipeline.Tests.Unit;

public sealed class CalibrationSelectorTests
{
    private static readonly DateTimeOffset January = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset February = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset March = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly CalibrationVersion V1 = new("s-1", 1, January, 2.0, 1.0);
    private static readonly CalibrationVersion V2 = new("s-1", 2, February, 0.5, -3.0);
    private static readonly CalibrationVersion V3 = new("s-1", 3, March, 1.1, 0.25);

    [Fact]
    public void Select_without_versions_is_the_identity()
    {
        var selected = CalibrationSelector.Select([], "s-1", February);

        Assert.Equal(new CalibrationVersion("s-1", 0, DateTimeOffset.MinValue, 1.0, 0.0), selected);
        Assert.Equal(-12.5, selected.Apply(-12.5));
    }

    [Fact]
    public void Select_is_the_identity_when_every_version_starts_after_the_reading()
    {
        var selected = CalibrationSelector.Select([V2, V3], "s-1", January);

        Assert.Equal(0, selected.Version);
        Assert.Equal("s-1", selected.SensorId);
        Assert.Equal(7.0, selected.Apply(7.0));
    }

    [Fact]
    public void Select_picks_the_newest_applicable_version_whatever_the_order()
    {
        var readingInFebruary = February.AddDays(10);

        Assert.Same(V2, CalibrationSelector.Select([V3, V1, V2], "s-1", readingInFebruary));
        Assert.Same(V2, CalibrationSelector.Select([V2, V3, V1], "s-1", readingInFebruary));
        Assert.Same(V3, CalibrationSelector.Select([V3, V1, V2], "s-1", March.AddYears(1)));
    }

    [Fact]
    public void Select_uses_a_version_from_exactly_its_valid_from()
    {
        Assert.Same(V2, CalibrationSelector.Select([V1, V2, V3], "s-1", February));
        Assert.Same(V1, CalibrationSelector.Select([V1, V2, V3], "s-1", February.AddTicks(-1)));
    }

    [Fact]
    public void Select_compares_instants_across_offsets()
    {
        var justBeforeFebruaryInBerlin = new DateTimeOffset(2026, 2, 1, 0, 30, 0, TimeSpan.FromHours(1));

        Assert.Same(V1, CalibrationSelector.Select([V1, V2], "s-1", justBeforeFebruaryInBerlin));
    }

    [Fact]
    public void Apply_computes_gain_times_raw_plus_offset()
    {
        Assert.Equal(41.0, V1.Apply(20.0));
        Assert.Equal(-13.0, V2.Apply(-20.0));
        Assert.Equal(0.25, V3.Apply(0.0));
        Assert.Equal(1.1 * 12.3 + 0.25, V3.Apply(12.3));
    }
}
