using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace SensorPipeline.Benchmarks;

/// <summary>What the database says about a run's readings, and its own binary COPY limit.</summary>
internal sealed class Measurements(NpgsqlDataSource db, string sensorPrefix)
{
    private string Like => sensorPrefix + "%";

    /// <summary>Raw readings received in the window that have no calibrated value yet.</summary>
    public async Task<long> UncalibratedAsync(DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            select count(*) from raw_data r
             where r.received_at >= $1 and r.received_at < $2 and r.sensor_id like $3
               and not exists (select 1 from calibrated_temperature c where c.raw_data_id = r.id and c.recorded_at = r.recorded_at)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = Like });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public sealed record Latency(long Readings, long Calibrated, double P50Ms, double P95Ms, double P99Ms, double MaxMs);

    /// <summary>
    /// calibrated_at − received_at of every reading received in the window (received_at is set by
    /// the app at HTTP accept, calibrated_at by the database when it writes the calibrated row).
    /// With <paramref name="sinceRecorded"/>: calibrated_at − recorded_at, for readings whose
    /// sender set recordedAt to the moment it sent them (the MQTT scenario: publish → calibrated).
    /// </summary>
    public async Task<Latency> LatencyAsync(DateTime from, DateTime to, CancellationToken cancellationToken, bool sinceRecorded = false)
    {
        var since = sinceRecorded ? "r.recorded_at" : "r.received_at";
        await using var command = db.CreateCommand($"""
            select count(*),
                   count(c.raw_data_id),
                   percentile_cont(array[0.5, 0.95, 0.99]) within group (order by extract(epoch from c.calibrated_at - {since}) * 1000),
                   max(extract(epoch from c.calibrated_at - {since}) * 1000)
              from raw_data r
              left join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
             where r.received_at >= $1 and r.received_at < $2 and r.sensor_id like $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = Like });
        command.CommandTimeout = 600;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var p = reader.IsDBNull(2) ? [double.NaN, double.NaN, double.NaN] : reader.GetFieldValue<double[]>(2);
        return new Latency(reader.GetInt64(0), reader.GetInt64(1), p[0], p[1], p[2], reader.IsDBNull(3) ? double.NaN : Convert.ToDouble(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Calibrated rows written in the window (by calibrated_at), in all and per 5-second bucket.</summary>
    public async Task<(long Total, Dictionary<int, long> ByBucket)> CalibratedInWindowAsync(DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            select floor(extract(epoch from calibrated_at - $1) / 5)::int, count(*)
              from calibrated_temperature
             where calibrated_at >= $1 and calibrated_at < $2 and sensor_id like $3
             group by 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = Like });
        command.CommandTimeout = 600;
        var buckets = new Dictionary<int, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            buckets[reader.GetInt32(0)] = reader.GetInt64(1);
        }

        return (buckets.Values.Sum(), buckets);
    }

    /// <summary>Raw rows of this run in all (to compare with what was accepted: the mock broker may trim).</summary>
    public async Task<long> RawRowsAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select count(*) from raw_data where sensor_id like $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Like });
        command.CommandTimeout = 600;
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<string> ServerVersionAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select current_setting('server_version') || coalesce(' + timescaledb ' || (select extversion from pg_extension where extname = 'timescaledb'), '')");
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public sealed record CopyResult(long Rows, double Seconds, bool Hypertable)
    {
        public double RowsPerSecond => Rows / Seconds;
    }

    /// <summary>
    /// The database's own limit for rows of raw_data's shape: binary COPY of <paramref name="rows"/>
    /// rows, in one transaction, into a scratch copy of raw_data with the same columns, identity,
    /// constraints and indexes (a hypertable too when raw_data is one), then dropped.
    /// </summary>
    public async Task<CopyResult> CopyLimitAsync(int rows, CancellationToken cancellationToken)
    {
        var table = "bench_copy_" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var hypertable = false;
        await using (var create = new NpgsqlCommand($"create table {table} (like raw_data including all)", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await using (var check = new NpgsqlCommand(
                "select exists (select 1 from pg_extension where extname = 'timescaledb') and to_regclass('timescaledb_information.hypertables') is not null", connection))
            {
                if ((bool)(await check.ExecuteScalarAsync(cancellationToken))!)
                {
                    await using var isHyper = new NpgsqlCommand("select exists (select 1 from timescaledb_information.hypertables where hypertable_name = 'raw_data')", connection);
                    hypertable = (bool)(await isHyper.ExecuteScalarAsync(cancellationToken))!;
                    if (hypertable)
                    {
                        await using var make = new NpgsqlCommand($"select create_hypertable('{table}', 'recorded_at')", connection);
                        await make.ExecuteNonQueryAsync(cancellationToken);
                    }
                }
            }

            var sensors = Enumerable.Range(0, 500).Select(i => $"{sensorPrefix}c{i:D5}").ToArray();
            var baseTime = DateTime.UtcNow.Date.AddDays(-30);
            var received = DateTime.UtcNow;
            var stopwatch = Stopwatch.StartNew();
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                await using (var import = await connection.BeginBinaryImportAsync(
                    $"copy {table} (sensor_id, recorded_at, raw_value, received_at, source) from stdin (format binary)", cancellationToken))
                {
                    for (var i = 0; i < rows; i++)
                    {
                        await import.StartRowAsync(cancellationToken);
                        await import.WriteAsync(sensors[i % sensors.Length], NpgsqlDbType.Text, cancellationToken);
                        await import.WriteAsync(baseTime.AddMilliseconds(i / sensors.Length), NpgsqlDbType.TimestampTz, cancellationToken);
                        await import.WriteAsync(20 + (i % 1000) * 0.01, NpgsqlDbType.Double, cancellationToken);
                        await import.WriteAsync(received, NpgsqlDbType.TimestampTz, cancellationToken);
                        await import.WriteNullAsync(cancellationToken);
                    }

                    await import.CompleteAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            }

            return new CopyResult(rows, stopwatch.Elapsed.TotalSeconds, hypertable);
        }
        finally
        {
            await using var drop = new NpgsqlCommand($"drop table if exists {table}", connection);
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
