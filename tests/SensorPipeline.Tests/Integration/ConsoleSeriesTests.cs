using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// The dashboard's series read from the rollups (TimescaleDB's continuous aggregates; the plain
/// rollup views have the same columns, so a store told the rollups are materialized reads them
/// here too): raw and calibrated are grouped over the same readings.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class ConsoleSeriesTests(TestServers servers) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private NpgsqlDataSource _db = null!;

    public async Task InitializeAsync()
    {
        _db = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("console_series"));
        await new Migrator(_db).MigrateAsync(null, CancellationToken.None);
        // A reading every 10 minutes for 10 days, calibrated with identity parameters
        // (calibrated = raw), a saw so every bucket has its own average, minimum and maximum.
        await using var command = _db.CreateCommand("""
            insert into raw_data (sensor_id, recorded_at, raw_value, source)
            select 'roll-1', timestamptz '2026-06-01 00:00:00+00' + i * interval '10 minutes', 20 + (i % 37) / 10.0, 'test'
              from generate_series(0, 1439) i;
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version)
            select id, recorded_at, sensor_id, raw_value, 0 from raw_data;
            """);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Theory]
    [InlineData(100, SeriesSource.Hourly, 3_600)]
    [InlineData(10, SeriesSource.Daily, 86_400)]
    public async Task Rollup_buckets_are_whole_rollup_rows_and_hold_the_same_readings_as_raw(int points, SeriesSource expected, long unit)
    {
        // A range that starts and ends inside an hour: the rollup rows at its edges are partly
        // outside it (the readings at 00:00 and 00:10 are in from's hour but before from).
        var from = T0.AddMinutes(17);
        var to = T0.AddDays(10).AddMinutes(47);
        var series = await new ConsoleQueryStore(_db, rollupsMaterialized: true).SeriesAsync("roll-1", from, to, points, CancellationToken.None);

        Assert.Equal(expected, series.Source);
        Assert.Equal(0, (long)series.BucketSeconds % unit);
        Assert.True(series.Times.Count <= points, $"{series.Times.Count} buckets for {points} points");
        // Calibrated = raw for every reading, so every bucket must agree when both sides group the
        // same readings (before the fix, rollup rows were assigned by their start to buckets that
        // were not whole hours, and the edge rows were dropped: every bucket differed).
        Assert.Equal(series.Raw, series.Calibrated);
        Assert.Equal(series.RawMin, series.CalibratedMin);
        Assert.Equal(series.RawMax, series.CalibratedMax);
        Assert.Equal(1440, series.Readings); // every reading of the whole hours (days), not only the 1438 in [from, to)
    }

    [Fact]
    public void Rollup_alignment_rounds_the_width_up_and_widens_the_range_to_whole_units()
    {
        var (width, from, to) = ConsoleQueryStore.AlignToRollup(9_505, T0.AddMinutes(17), T0.AddDays(1).AddSeconds(1), 3_600);
        Assert.Equal(10_800, width);
        Assert.Equal(T0, from);
        Assert.Equal(T0.AddDays(1).AddHours(1), to);
        Assert.Equal((3_600L, T0, T0.AddHours(1)), ConsoleQueryStore.AlignToRollup(3_600, T0, T0.AddHours(1), 3_600));
    }
}
