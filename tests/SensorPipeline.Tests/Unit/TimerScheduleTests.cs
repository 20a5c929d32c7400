using SensorPipeline.Runtime.Timers;

namespace SensorPipeline.Tests.Unit;

public sealed class TimerScheduleTests
{
    private static DateTimeOffset Utc(int day, int hour, int minute, int second = 0) =>
        new(2026, 3, day, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void Parse_accepts_a_six_field_expression()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *", "function UnitTest");

        Assert.Equal("0 */5 * * * *", schedule.Expression);
    }

    [Theory]
    [InlineData("*/5 * * * *")]
    [InlineData("0 0 */5 * * * *")]
    [InlineData("")]
    public void Parse_rejects_an_expression_without_six_fields_naming_it_and_its_user(string expression)
    {
        var e = Assert.Throws<FormatException>(() => TimerSchedule.Parse(expression, "function UnitTestTimer"));

        Assert.Contains($"'{expression}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("function UnitTestTimer", e.Message, StringComparison.Ordinal);
        Assert.Contains("6 fields", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a b c d e f")]
    [InlineData("0 61 * * * *")]
    [InlineData("0 0 25 * * *")]
    public void Parse_rejects_garbage_in_six_fields_naming_the_expression(string expression)
    {
        var e = Assert.Throws<FormatException>(() => TimerSchedule.Parse(expression, "function UnitTestTimer"));

        Assert.Contains($"'{expression}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("function UnitTestTimer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_is_the_first_occurrence_after_the_time()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *", "t");

        Assert.Equal(Utc(10, 10, 5), schedule.Next(Utc(10, 10, 2, 30)));
    }

    [Fact]
    public void Next_is_strictly_after_an_occurrence()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *", "t");

        Assert.Equal(Utc(10, 10, 10), schedule.Next(Utc(10, 10, 5)));
    }

    [Fact]
    public void Next_works_in_utc_whatever_the_offset_of_the_time()
    {
        var schedule = TimerSchedule.Parse("0 0 3 * * *", "t");

        var next = schedule.Next(new DateTimeOffset(2026, 3, 10, 4, 30, 0, TimeSpan.FromHours(2)));

        Assert.Equal(Utc(10, 3, 0), next);
        Assert.Equal(TimeSpan.Zero, next.Offset);
    }

    [Fact]
    public void Previous_is_the_last_occurrence_before_the_time()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *", "t");

        Assert.Equal(Utc(10, 10, 5), schedule.Previous(Utc(10, 10, 7)));
    }

    [Fact]
    public void Previous_at_an_occurrence_is_that_occurrence()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *", "t");

        Assert.Equal(Utc(10, 10, 5), schedule.Previous(Utc(10, 10, 5)));
    }

    [Fact]
    public void Previous_of_a_daily_schedule_is_found_on_the_day_before()
    {
        var schedule = TimerSchedule.Parse("0 0 3 * * *", "t");

        Assert.Equal(Utc(9, 3, 0), schedule.Previous(Utc(10, 1, 0)));
        Assert.Equal(Utc(10, 3, 0), schedule.Previous(Utc(10, 3, 0)));
        Assert.Equal(Utc(10, 3, 0), schedule.Previous(Utc(10, 23, 59, 59)));
    }

    [Fact]
    public void Previous_of_a_monthly_schedule_looks_back_weeks()
    {
        var schedule = TimerSchedule.Parse("0 0 0 1 * *", "t");

        Assert.Equal(Utc(1, 0, 0), schedule.Previous(Utc(28, 12, 0)));
    }

    [Fact]
    public void Parse_rejects_a_schedule_that_never_fires_and_accepts_tabs()
    {
        var error = Assert.Throws<FormatException>(() => TimerSchedule.Parse("0 0 0 30 2 *", "function X"));
        Assert.Contains("never fires", error.Message, StringComparison.Ordinal);
        Assert.Equal("0 */5 * * * *", TimerSchedule.Parse("0\t*/5 * * * *", "function X").Expression);
    }

    [Fact]
    public void Previous_finds_a_yearly_occurrence_almost_a_year_back()
    {
        var yearly = TimerSchedule.Parse("0 0 0 1 1 *", "function X");
        var at = new DateTimeOffset(2025, 12, 31, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), yearly.Previous(at));
    }
}
