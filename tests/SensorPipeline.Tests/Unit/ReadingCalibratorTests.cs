using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Tests.Unit;

public sealed class ReadingCalibratorTests
{
    private static readonly DateTimeOffset January = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CalibrationRequest Request(long id, string sensor, DateTimeOffset at, double raw) =>
        new() { RawDataId = id, SensorId = sensor, RecordedAt = at, RawValue = raw, ReceivedAt = at };

    [Fact]
    public void Each_reading_gets_the_version_valid_at_its_time_and_gain_times_raw_plus_offset()
    {
        var versions = new Dictionary<string, List<CalibrationVersion>>
        {
            ["s-1"] = [new("s-1", 1, January, 2.0, 1.0), new("s-1", 2, January.AddMonths(1), 0.5, -1.0)],
        };

        var rows = ReadingCalibrator.Calibrate(
            [Request(3, "s-1", January.AddMonths(2), 10), Request(1, "s-1", January.AddDays(1), 10), Request(2, "s-2", January, 7.5)],
            versions);

        Assert.Equal(
            [
                new CalibratedReading(1, January.AddDays(1), "s-1", 21.0, 1),
                new CalibratedReading(2, January, "s-2", 7.5, 0),
                new CalibratedReading(3, January.AddMonths(2), "s-1", 4.0, 2),
            ],
            rows);
    }

    [Fact]
    public void Duplicates_are_calibrated_once_and_rows_come_in_raw_id_order()
    {
        var reading = Request(5, "s-1", January, 1);

        var rows = ReadingCalibrator.Calibrate([Request(9, "s-1", January, 2), reading, reading, Request(9, "s-1", January, 2)], new Dictionary<string, List<CalibrationVersion>>());

        Assert.Equal([5L, 9L], rows.Select(r => r.RawDataId));
    }

    [Fact]
    public void A_reading_before_every_version_is_calibrated_with_the_identity()
    {
        var versions = new Dictionary<string, List<CalibrationVersion>> { ["s-1"] = [new("s-1", 1, January, 2.0, 1.0)] };

        var row = Assert.Single(ReadingCalibrator.Calibrate([Request(1, "s-1", January.AddTicks(-1), 3.25)], versions));

        Assert.Equal(3.25, row.Value);
        Assert.Equal(0, row.Version);
    }
}
