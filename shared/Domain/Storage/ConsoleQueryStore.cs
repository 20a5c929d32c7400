using Npgsql;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// What the dashboard reads that the read API does not: sensors and devices searched and paged on
/// the server (so 10,000 sensors cost one page), and one sensor's values as chart series,
/// downsampled in the database to about the chart's width.
/// </summary>
public sealed class ConsoleQueryStore(NpgsqlDataSource dataSource)
{
    private bool? _materialized;

    /// <summary>A store that takes the rollups as materialized (or not) without asking the database: tests on plain PostgreSQL, whose rollup views have the same columns.</summary>
    internal ConsoleQueryStore(NpgsqlDataSource dataSource, bool rollupsMaterialized)
        : this(dataSource) => _materialized = rollupsMaterialized;

    /// <summary>
    /// Sensors whose id contains <paramref name="search"/> (case-insensitive), ordered by id, one
    /// page. The ids come from a loose index scan of raw_data's (sensor_id, recorded_at) key (one
    /// index probe per sensor, not a scan of the readings) plus the sensors with parameters only;
    /// the newest reading, calibrated value, version and device are read for the page's sensors only.
    /// </summary>
    public async Task<ConsolePage<ConsoleSensorRow>> SearchSensorsAsync(string search, int offset, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        await using var command = dataSource.CreateCommand("""
            with recursive ids(sensor_id) as (
                (select sensor_id from raw_data order by sensor_id limit 1)
                union all
                select (select r.sensor_id from raw_data r where r.sensor_id > i.sensor_id order by r.sensor_id limit 1)
                  from ids i
                 where i.sensor_id is not null
            ), sensors as (
                select sensor_id from ids where sensor_id is not null
                union
                select sensor_id from calibration
            ), matched as (
                select sensor_id, count(*) over () as total
                  from sensors
                 where $1 = '' or strpos(lower(sensor_id), lower($1)) > 0
                 order by sensor_id
                offset $2 limit $3
            )
            select m.sensor_id, m.total, r.recorded_at, r.received_at, r.raw_value,
                   c.value, c.calibration_version, coalesce(v.version, 0), ds.device_id, r.unit
              from matched m
              left join lateral (
                  select recorded_at, received_at, raw_value, unit from raw_data
                   where sensor_id = m.sensor_id order by recorded_at desc limit 1) r on true
              left join lateral (
                  select value, calibration_version from calibrated_temperature
                   where sensor_id = m.sensor_id order by recorded_at desc limit 1) c on true
              left join lateral (
                  select max(version) as version from calibration where sensor_id = m.sensor_id) v on true
              left join device_sensor ds on ds.sensor_id = m.sensor_id
             order by m.sensor_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = search });
        command.Parameters.Add(new NpgsqlParameter { Value = offset });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var rows = new List<ConsoleSensorRow>(limit);
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            total = reader.GetInt64(1);
            rows.Add(new ConsoleSensorRow(
                reader.GetString(0),
                reader.IsDBNull(2) ? null : Utc(reader.GetDateTime(2)),
                reader.IsDBNull(3) ? null : Utc(reader.GetDateTime(3)),
                reader.IsDBNull(4) ? null : ReadingQueryStore.Round(reader.GetDouble(4)),
                reader.IsDBNull(5) ? null : ReadingQueryStore.Round(reader.GetDouble(5)),
                reader.IsDBNull(6) ? null : reader.GetInt32(6),
                reader.GetInt32(7),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.IsDBNull(9) ? null : reader.GetString(9)));
        }

        return new ConsolePage<ConsoleSensorRow>(rows, total);
    }

    /// <summary>Devices whose id or name contains <paramref name="search"/>, ordered by id, one page, with their sensor counts.</summary>
    public async Task<ConsolePage<ConsoleDeviceRow>> SearchDevicesAsync(string search, int offset, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        await using var command = dataSource.CreateCommand("""
            with matched as (
                select d.*, count(*) over () as total
                  from device d
                 where $1 = '' or strpos(lower(d.device_id), lower($1)) > 0 or strpos(lower(coalesce(d.display_name, '')), lower($1)) > 0
                 order by d.device_id
                offset $2 limit $3
            )
            select m.device_id, m.display_name, m.firmware, m.credential_state, m.last_seen_at, m.total,
                   (select count(*) from device_sensor s where s.device_id = m.device_id)::int
              from matched m
             order by m.device_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = search });
        command.Parameters.Add(new NpgsqlParameter { Value = offset });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var rows = new List<ConsoleDeviceRow>(limit);
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            total = reader.GetInt64(5);
            rows.Add(new ConsoleDeviceRow(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : Utc(reader.GetDateTime(4)),
                reader.GetInt32(6)));
        }

        return new ConsolePage<ConsoleDeviceRow>(rows, total);
    }

    /// <summary>
    /// One sensor's raw and calibrated values with <paramref name="from"/> ≤ recorded_at &lt;
    /// <paramref name="to"/>, about <paramref name="points"/> entries at most: every reading when
    /// there are no more than that; otherwise buckets of (to − from) / points with average, minimum
    /// and maximum, grouped in the database (read from the rollups: whole hours or days, over the
    /// whole hours or days the range touches). The calibrated buckets come from the hourly (daily)
    /// rollups when a bucket spans an hour (a day) or more and the rollups are TimescaleDB
    /// continuous aggregates; on plain PostgreSQL the rollups are views computed from the readings
    /// at query time, so the readings are grouped directly (the same numbers, one step less).
    /// Raw and calibrated are grouped at the same time, on two connections.
    /// </summary>
    public async Task<SensorSeries> SeriesAsync(string sensorId, DateTimeOffset from, DateTimeOffset to, int points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sensorId);
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 2);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            // At most points + 1 index entries are counted: enough to know whether the points fit.
            await using var count = new NpgsqlCommand("""
                select count(*) from (
                    select 1 from raw_data where sensor_id = $1 and recorded_at >= $2 and recorded_at < $3 limit $4) x
                """, connection);
            AddRange(count, sensorId, from, to);
            count.Parameters.Add(new NpgsqlParameter { Value = points + 1 });
            var n = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
            if (n <= points)
            {
                return await PointsAsync(connection, sensorId, from, to, cancellationToken);
            }
        }

        var width = Math.Max(1L, (long)Math.Ceiling((to - from).TotalSeconds / points));
        var source = !await RollupsMaterializedAsync(cancellationToken) ? SeriesSource.Readings
            : width >= 86_400 ? SeriesSource.Daily
            : width >= 3_600 ? SeriesSource.Hourly
            : SeriesSource.Readings;
        if (source != SeriesSource.Readings)
        {
            // A rollup row is a whole hour (day): the buckets are whole multiples of it, and both
            // series cover the whole hours (days) the range touches, so each rollup row falls in
            // exactly one bucket and raw and calibrated are grouped over the same readings.
            (width, from, to) = AlignToRollup(width, from, to, source == SeriesSource.Daily ? 86_400 : 3_600);
        }

        var calibratedSql = source switch
        {
            SeriesSource.Readings => """
                select floor(date_part('epoch', recorded_at) / $4)::bigint as b,
                       avg(value), min(value), max(value), count(*)
                  from calibrated_temperature
                 where sensor_id = $1 and recorded_at >= $2 and recorded_at < $3
                 group by b
                """,
            _ => $"""
                select floor(date_part('epoch', bucket) / $4)::bigint as b,
                       sum(avg_value * readings) / nullif(sum(readings), 0), min(min_value), max(max_value), sum(readings)::bigint
                  from {(source == SeriesSource.Daily ? "calibrated_daily" : "calibrated_hourly")}
                 where sensor_id = $1 and bucket >= $2 and bucket < $3
                 group by b
                """,
        };
        var rawTask = BucketsAsync("""
            select floor(date_part('epoch', recorded_at) / $4)::bigint as b,
                   avg(reading_celsius(raw_value, unit)), min(reading_celsius(raw_value, unit)), max(reading_celsius(raw_value, unit)), count(*)
              from raw_data
             where sensor_id = $1 and recorded_at >= $2 and recorded_at < $3
             group by b
            """, sensorId, from, to, width, cancellationToken);
        var calibratedTask = BucketsAsync(calibratedSql, sensorId, from, to, width, cancellationToken);
        await Task.WhenAll(rawTask, calibratedTask);
        var raw = await rawTask;
        var calibrated = await calibratedTask;

        var keys = raw.Keys.Union(calibrated.Keys).Order().ToList();
        var times = new List<double>(keys.Count);
        List<double?> rawAvg = new(keys.Count), rawMin = new(keys.Count), rawMax = new(keys.Count);
        List<double?> calAvg = new(keys.Count), calMin = new(keys.Count), calMax = new(keys.Count);
        long readings = 0;
        foreach (var key in keys)
        {
            times.Add(key * (double)width);
            var r = raw.GetValueOrDefault(key);
            var c = calibrated.GetValueOrDefault(key);
            rawAvg.Add(r?.Avg); rawMin.Add(r?.Min); rawMax.Add(r?.Max);
            calAvg.Add(c?.Avg); calMin.Add(c?.Min); calMax.Add(c?.Max);
            readings += r?.Count ?? 0;
        }

        return new SensorSeries(source, width, readings, times, rawAvg, rawMin, rawMax, calAvg, calMin, calMax);
    }

    /// <summary>
    /// The bucket width rounded up to a whole number of rollup rows (<paramref name="unit"/>
    /// seconds), and the range widened to whole rollup rows (buckets are counted from the Unix
    /// epoch, as the rollups' UTC hours and days are).
    /// </summary>
    internal static (long Width, DateTimeOffset From, DateTimeOffset To) AlignToRollup(long width, DateTimeOffset from, DateTimeOffset to, long unit)
    {
        var start = Math.Floor(from.ToUnixTimeMilliseconds() / 1000.0 / unit) * unit;
        var end = Math.Ceiling(to.ToUnixTimeMilliseconds() / 1000.0 / unit) * unit;
        return ((width + unit - 1) / unit * unit, DateTimeOffset.FromUnixTimeSeconds((long)start), DateTimeOffset.FromUnixTimeSeconds((long)end));
    }

    /// <summary>Whether the rollups are TimescaleDB continuous aggregates (the mode the migrations recorded), asked once.</summary>
    private async Task<bool> RollupsMaterializedAsync(CancellationToken cancellationToken)
    {
        if (_materialized is { } known)
        {
            return known;
        }

        await using var command = dataSource.CreateCommand("""
            select coalesce((select lower(mode) = 'timescaledb' from schema_migrations order by applied_at desc, id desc limit 1), false)
                   and exists (select 1 from pg_extension where extname = 'timescaledb')
            """);
        var materialized = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        _materialized = materialized;
        return materialized;
    }

    private static async Task<SensorSeries> PointsAsync(NpgsqlConnection connection, string sensorId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            select date_part('epoch', r.recorded_at), reading_celsius(r.raw_value, r.unit), c.value
              from raw_data r
              left join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
             where r.sensor_id = $1 and r.recorded_at >= $2 and r.recorded_at < $3
             order by r.recorded_at
            """, connection);
        AddRange(command, sensorId, from, to);
        var times = new List<double>();
        var raw = new List<double?>();
        var calibrated = new List<double?>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            times.Add(reader.GetDouble(0));
            raw.Add(ReadingQueryStore.Round(reader.GetDouble(1)));
            calibrated.Add(reader.IsDBNull(2) ? null : ReadingQueryStore.Round(reader.GetDouble(2)));
        }

        return new SensorSeries(SeriesSource.Points, 0, times.Count, times, raw, null, null, calibrated, null, null);
    }

    private async Task<Dictionary<long, Bucket>> BucketsAsync(
        string sql, string sensorId, DateTimeOffset from, DateTimeOffset to, long width, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        AddRange(command, sensorId, from, to);
        command.Parameters.Add(new NpgsqlParameter { Value = (double)width });
        var buckets = new Dictionary<long, Bucket>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (reader.IsDBNull(1))
            {
                continue;
            }

            buckets[reader.GetInt64(0)] = new Bucket(
                ReadingQueryStore.Round(reader.GetDouble(1)),
                ReadingQueryStore.Round(reader.GetDouble(2)),
                ReadingQueryStore.Round(reader.GetDouble(3)),
                reader.GetInt64(4));
        }

        return buckets;
    }

    private static void AddRange(NpgsqlCommand command, string sensorId, DateTimeOffset from, DateTimeOffset to)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = sensorId });
        command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private sealed record Bucket(double Avg, double Min, double Max, long Count);
}
