using Npgsql;

namespace SensorPipeline.Domain.Storage;

/// <summary>The read side: sensors, readings by time with keyset paging, rollups, database facts.</summary>
/// <remarks>
/// Values leave here rounded to <see cref="ValueDecimals"/> decimal places: a calibrated value
/// (<c>gain * raw + offset</c>) and an average carry binary floating-point noise
/// (24.403000000000002) that no sensor measured.
/// </remarks>
public sealed class ReadingQueryStore(NpgsqlDataSource dataSource)
{
    /// <summary>Decimal places of every value the read API returns.</summary>
    public const int ValueDecimals = 6;

    /// <summary>A value as the read API returns it: rounded to <see cref="ValueDecimals"/> places.</summary>
    public static double Round(double value) => Math.Round(value, ValueDecimals, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Whether the sensor is known (has readings or calibration parameters), and the recorded_at
    /// of its newest raw reading (null without readings). One index probe each.
    /// </summary>
    public async Task<(bool Known, DateTimeOffset? Latest)> FindSensorAsync(string sensorId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select (select r.recorded_at from raw_data r where r.sensor_id = $1 order by r.recorded_at desc limit 1),
                   exists (select 1 from calibration c where c.sensor_id = $1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sensorId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        DateTimeOffset? latest = reader.IsDBNull(0) ? null : Utc(reader.GetDateTime(0));
        return (latest is not null || reader.GetBoolean(1), latest);
    }

    /// <summary>
    /// Every sensor that has readings or calibration parameters, with its newest calibrated
    /// reading, raw reading count and newest calibration version (0 without parameters), in one
    /// statement: the newest reading comes from the (sensor_id, recorded_at desc) index.
    /// </summary>
    public async Task<IReadOnlyList<SensorSummary>> ListSensorsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            with counts as (
                select sensor_id, count(*) as readings from raw_data group by sensor_id
            ), versions as (
                select sensor_id, max(version) as version from calibration group by sensor_id
            ), sensors as (
                select sensor_id from counts union select sensor_id from versions
            )
            select s.sensor_id, coalesce(c.readings, 0), coalesce(v.version, 0),
                   l.value, l.recorded_at, l.calibration_version
              from sensors s
              left join counts c on c.sensor_id = s.sensor_id
              left join versions v on v.sensor_id = s.sensor_id
              left join lateral (
                  select t.value, t.recorded_at, t.calibration_version
                    from calibrated_temperature t
                   where t.sensor_id = s.sensor_id
                   order by t.recorded_at desc
                   limit 1) l on true
             order by s.sensor_id
            """);
        var sensors = new List<SensorSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var latest = reader.IsDBNull(3)
                ? null
                : new LatestReading(Round(reader.GetDouble(3)), Utc(reader.GetDateTime(4)), reader.GetInt32(5));
            sensors.Add(new SensorSummary(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), latest));
        }

        return sensors;
    }

    /// <summary>
    /// Readings of one sensor with <paramref name="from"/> ≤ recorded_at &lt; <paramref name="to"/>
    /// and recorded_at &gt; <paramref name="after"/> (the keyset cursor), oldest first, at most
    /// <paramref name="limit"/>. (sensor_id, recorded_at) is unique, so the cursor is exact.
    /// </summary>
    public async Task<IReadOnlyList<ReadingRow>> ReadingsAsync(
        string sensorId, DateTimeOffset from, DateTimeOffset to, DateTimeOffset? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select r.recorded_at, r.raw_value, c.value, c.calibration_version, r.received_at, c.calibrated_at, r.unit, r.payload_id
              from raw_data r
              left join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
             where r.sensor_id = $1 and r.recorded_at >= $2 and r.recorded_at < $3
               and ($4::timestamptz is null or r.recorded_at > $4)
             order by r.recorded_at
             limit $5
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sensorId });
        command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = after is { } a ? a.UtcDateTime : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var rows = new List<ReadingRow>(Math.Min(limit, 10_000));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ReadingRow(
                Utc(reader.GetDateTime(0)),
                reader.GetDouble(1),
                reader.GetString(6),
                reader.IsDBNull(2) ? null : Round(reader.GetDouble(2)),
                reader.IsDBNull(3) ? null : reader.GetInt32(3),
                Utc(reader.GetDateTime(4)),
                reader.IsDBNull(5) ? null : Utc(reader.GetDateTime(5)),
                reader.IsDBNull(7) ? null : reader.GetGuid(7)));
        }

        return rows;
    }

    /// <summary>
    /// Rollup buckets of one sensor whose start lies in [<paramref name="from"/>, <paramref name="to"/>),
    /// from <c>calibrated_hourly</c> or <c>calibrated_daily</c> (views on plain PostgreSQL,
    /// continuous aggregates on TimescaleDB).
    /// </summary>
    public async Task<IReadOnlyList<RollupRow>> RollupsAsync(
        string sensorId, RollupBucket bucket, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var relation = bucket == RollupBucket.Hour ? "calibrated_hourly" : "calibrated_daily";
        await using var command = dataSource.CreateCommand($"""
            select bucket, readings, min_value, max_value, avg_value
              from {relation}
             where sensor_id = $1 and bucket >= $2 and bucket < $3
             order by bucket
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sensorId });
        command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
        var rows = new List<RollupRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new RollupRow(Utc(reader.GetDateTime(0)), reader.GetInt64(1), Round(reader.GetDouble(2)), Round(reader.GetDouble(3)), Round(reader.GetDouble(4))));
        }

        return rows;
    }

    /// <summary><c>plain</c> or <c>timescaledb &lt;version&gt;</c>: the mode the migrations recorded.</summary>
    public async Task<string> DatabaseModeAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select (select mode from schema_migrations order by applied_at desc, id desc limit 1),
                   (select extversion from pg_extension where extname = 'timescaledb')
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var mode = reader.IsDBNull(0) ? null : reader.GetString(0);
        var version = reader.IsDBNull(1) ? null : reader.GetString(1);
        return string.Equals(mode, nameof(DatabaseMode.TimescaleDb), StringComparison.OrdinalIgnoreCase)
            ? $"timescaledb {version ?? "(extension missing)"}"
            : "plain";
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
