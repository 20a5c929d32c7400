using Npgsql;
using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>The stores and migrations on a real PostgreSQL (a fresh database for this class).</summary>
[Collection(IntegrationCollection.Name)]
public sealed class StorageTests(TestServers servers) : IAsyncLifetime
{
    private NpgsqlDataSource _db = null!;

    public async Task InitializeAsync()
    {
        _db = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("storage"));
        await new Migrator(_db).MigrateAsync(null, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static RawReadingMessage Reading(string sensor, int minute, double value) =>
        new() { SensorId = sensor, RecordedAt = T0.AddMinutes(minute), Value = value, ReceivedAt = DateTimeOffset.UtcNow };

    /// <summary>The calibration requests of an insert (their positions are checked where they matter).</summary>
    private static async Task<List<CalibrationRequest>> InsertAsync(RawReadingStore store, IReadOnlyList<RawReadingMessage> readings) =>
        (await store.InsertAsync(readings, CancellationToken.None)).Select(s => s.Request).ToList();

    /// <summary>What the calibration functions do: load the versions, compute (pure), write.</summary>
    private async Task<int> CalibrateAsync(IReadOnlyList<CalibrationRequest> requests, bool expectNew = false)
    {
        var store = new CalibrationStore(_db);
        var versions = await store.LoadVersionsAsync(requests.Select(r => r.SensorId), CancellationToken.None);
        return await store.WriteAsync(ReadingCalibrator.Calibrate(requests, versions), expectNew, CancellationToken.None);
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = _db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Migrations_are_idempotent_and_recorded_once()
    {
        var again = await new Migrator(_db).MigrateAsync(null, CancellationToken.None);
        Assert.Empty(again.Applied);
        Assert.Equal(DatabaseMode.Plain, again.Mode);
        Assert.Equal(Migrator.Migrations().Count, await ScalarAsync("select count(*) from schema_migrations"));
    }

    [Fact]
    public async Task PersistRaw_replayed_batch_inserts_nothing_twice_and_returns_only_uncalibrated_readings()
    {
        var store = new RawReadingStore(_db);
        var batch = Enumerable.Range(0, 10).Select(i => Reading("replay", i, i)).ToList();
        var first = await InsertAsync(store, batch);
        Assert.Equal(10, first.Count);

        // Same readings again, one with a different value (raw is immutable: the first wins), one duplicate within the batch.
        var replay = batch.Select(r => r.RecordedAt == T0 ? r with { Value = 999 } : r).Append(batch[5]).ToList();
        var second = await InsertAsync(store, replay);
        Assert.Equal(first.Select(r => r.RawDataId).Order(), second.Select(r => r.RawDataId).Order());
        Assert.Equal(10, await ScalarAsync("select count(*) from raw_data where sensor_id = 'replay'"));
        Assert.Equal(0, await ScalarAsync("select count(*) from raw_data where raw_value = 999"));

        await CalibrateAsync(first.Take(4).ToList());
        var third = await InsertAsync(store, batch);
        Assert.Equal(first.Skip(4).Select(r => r.RawDataId).Order(), third.Select(r => r.RawDataId).Order());
    }

    [Fact]
    public async Task Calibrate_uses_the_newest_version_valid_at_the_reading_and_identity_without_one()
    {
        var raw = await InsertAsync(new RawReadingStore(_db), [Reading("cal", 0, 10), Reading("cal", 60, 10), Reading("cal", 120, 10), Reading("nocal", 0, 10)]);
        await using (var command = _db.CreateCommand("""
            insert into calibration (sensor_id, version, valid_from, gain, "offset") values
              ('cal', 1, $1, 2.0, 1.0),
              ('cal', 2, $2, 3.0, 0.5)
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = T0.AddMinutes(30).UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter { Value = T0.AddMinutes(120).UtcDateTime });
            await command.ExecuteNonQueryAsync();
        }

        await CalibrateAsync(raw.Concat(raw).ToList());

        var rows = new List<(string Sensor, DateTime At, double Value, int Version)>();
        await using (var command = _db.CreateCommand("select sensor_id, recorded_at, value, calibration_version from calibrated_temperature order by sensor_id, recorded_at"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), reader.GetDateTime(1), reader.GetDouble(2), reader.GetInt32(3)));
            }
        }

        Assert.Equal(
            [("cal", 10.0, 0), ("cal", 21.0, 1), ("cal", 30.5, 2), ("nocal", 10.0, 0)],
            rows.Select(r => (r.Sensor, r.Value, r.Version)).ToArray());
    }

    [Fact]
    public async Task PersistRaw_batch_mixing_new_and_stored_readings_stores_the_new_once_and_returns_all_uncalibrated()
    {
        var store = new RawReadingStore(_db);
        var stored = await InsertAsync(store, [Reading("mixed", 0, 1), Reading("mixed", 1, 2)]);
        await CalibrateAsync([stored[0]]);

        // Minute 0 is calibrated, minute 1 stored but not calibrated, 2 and 3 new, 3 twice.
        var batch = new[] { Reading("mixed", 3, 4), Reading("mixed", 1, 2), Reading("mixed", 0, 1), Reading("mixed", 2, 3), Reading("mixed", 3, 4) };
        var result = await InsertAsync(store, batch);

        Assert.Equal([1, 2, 3], result.Select(r => (int)(r.RecordedAt - T0).TotalMinutes).Order().ToArray());
        Assert.Equal(stored[1].RawDataId, result.Single(r => r.RecordedAt == T0.AddMinutes(1)).RawDataId);
        Assert.Equal(4, await ScalarAsync("select count(*) from raw_data where sensor_id = 'mixed'"));
        Assert.Equal(4, await ScalarAsync("select count(distinct recorded_at) from raw_data where sensor_id = 'mixed'"));
    }

    [Fact]
    public async Task PersistRaw_new_batch_returns_every_reading_with_its_stored_id()
    {
        var batch = Enumerable.Range(0, 50).Select(i => Reading("fresh-batch", i, i / 10.0)).ToList();
        var result = await InsertAsync(new RawReadingStore(_db), batch);

        Assert.Equal(50, result.Count);
        Assert.Equal(50, result.Select(r => r.RawDataId).Distinct().Count());
        Assert.Equal(50, await ScalarAsync($"select count(*) from raw_data where sensor_id = 'fresh-batch' and id in ({string.Join(',', result.Select(r => r.RawDataId))})"));
        Assert.All(result, r => Assert.Equal(batch.Single(b => b.RecordedAt == r.RecordedAt).Value, r.RawValue));
    }

    [Fact]
    public async Task Calibrate_expecting_new_rows_falls_back_to_the_upsert_when_some_are_calibrated()
    {
        var raw = await InsertAsync(new RawReadingStore(_db), [Reading("expect", 0, 10), Reading("expect", 1, 20), Reading("expect", 2, 30)]);
        var calibration = new CalibrationStore(_db);
        Assert.Equal(3, await CalibrateAsync(raw, expectNew: true));

        // A newer version stored for the first reading by a recalculation; then the realtime
        // batch is delivered again with one reading not seen before.
        await using (var command = _db.CreateCommand($"update calibrated_temperature set value = 42, calibration_version = 7 where raw_data_id = {raw[0].RawDataId}"))
        {
            await command.ExecuteNonQueryAsync();
        }

        var more = await InsertAsync(new RawReadingStore(_db), [Reading("expect", 3, 40)]);
        await CalibrateAsync([.. raw, .. more, raw[1]], expectNew: true);

        Assert.Equal(4, await ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'expect'"));
        Assert.Equal(42, await ScalarAsync($"select value from calibrated_temperature where raw_data_id = {raw[0].RawDataId}"));
        Assert.Equal(40, await ScalarAsync($"select value from calibrated_temperature where raw_data_id = {more[0].RawDataId}"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Calibrate_never_replaces_a_newer_version_with_an_older_one(bool expectNew)
    {
        var raw = (await InsertAsync(new RawReadingStore(_db), [Reading($"stale-{expectNew}", 0, 10)])).Single();
        await using (var command = _db.CreateCommand("""
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version)
            values ($1, $2, $3, 42, 7)
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = raw.RawDataId });
            command.Parameters.Add(new NpgsqlParameter { Value = raw.RecordedAt.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter { Value = raw.SensorId });
            await command.ExecuteNonQueryAsync();
        }

        // No calibration rows: the calibrator computes version 0, older than the stored 7.
        await CalibrateAsync([raw], expectNew);
        Assert.Equal(42, await ScalarAsync($"select value from calibrated_temperature where raw_data_id = {raw.RawDataId}"));
        Assert.Equal(7, await ScalarAsync($"select calibration_version from calibrated_temperature where raw_data_id = {raw.RawDataId}"));
    }

    [Fact]
    public async Task Uncalibrated_search_respects_grace_period_and_reports_count_and_oldest()
    {
        await using (var command = _db.CreateCommand("""
            insert into raw_data (sensor_id, recorded_at, raw_value, received_at) values
              ('late', '2026-01-01T00:00:00Z', 1, now() - interval '10 minutes'),
              ('late', '2026-01-01T00:01:00Z', 1, now() - interval '5 minutes'),
              ('fresh', '2026-01-01T00:00:00Z', 1, now())
            """))
        {
            await command.ExecuteNonQueryAsync();
        }

        var report = await new RawReadingStore(_db).FindUncalibratedAsync(TimeSpan.FromMinutes(2), TimeSpan.FromDays(1), 1, CancellationToken.None);
        Assert.Equal(2, report.Total);
        var page = Assert.Single(report.Page);
        Assert.Equal("late", page.SensorId);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), page.RecordedAt);
        Assert.InRange((DateTimeOffset.UtcNow - report.OldestReceivedAt!.Value).TotalMinutes, 9, 11);
    }

    [Fact]
    public async Task PersistRaw_returns_each_readings_position_in_the_batch_for_new_and_stored_readings()
    {
        var store = new RawReadingStore(_db);
        await InsertAsync(store, [Reading("position", 1, 1)]);
        var batch = new[] { Reading("position", 5, 5), Reading("position", 1, 100), Reading("position", 3, 3), Reading("position", 5, 5) };

        var stored = await store.InsertAsync(batch, CancellationToken.None);

        // Every reading once, at its first position; the stored one keeps its stored value.
        Assert.Equal([0, 1, 2], stored.Select(s => s.Index).Order());
        Assert.All(stored, s => Assert.Equal(batch[s.Index].RecordedAt, s.Request.RecordedAt));
        Assert.Equal(1, stored.Single(s => s.Index == 1).Request.RawValue);

        var fresh = Enumerable.Range(10, 20).Select(i => Reading("position", i, i)).Reverse().ToArray();
        var plain = await store.InsertAsync(fresh, CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 20), plain.Select(s => s.Index).Order());
        Assert.All(plain, s => Assert.Equal(fresh[s.Index].Value, s.Request.RawValue));
    }
}
