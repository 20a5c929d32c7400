using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Calibration;

namespace SensorPipeline.Domain.Storage;

/// <summary>Calibration parameters and calibrated values.</summary>
public sealed class CalibrationStore(NpgsqlDataSource dataSource)
{
    /// <summary>The calibrated rows of a batch; the upsert adds its conflict clause to it.</summary>
    private const string InsertSql = """
        insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version, calibrated_at)
        select id, recorded_at, sensor_id, value, version, now()
          from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::int[])
               as t(id, recorded_at, sensor_id, value, version)

        """;

    /// <summary>Every calibration version of the given sensors, in one round trip.</summary>
    public async Task<Dictionary<string, List<CalibrationVersion>>> LoadVersionsAsync(IEnumerable<string> sensorIds, CancellationToken cancellationToken)
    {
        var ids = sensorIds.Distinct(StringComparer.Ordinal).ToArray();
        var versions = new Dictionary<string, List<CalibrationVersion>>(StringComparer.Ordinal);
        await using var command = dataSource.CreateCommand(
            """select sensor_id, version, valid_from, gain, "offset" from calibration where sensor_id = any($1)""");
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var v = new CalibrationVersion(reader.GetString(0), reader.GetInt32(1), new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero), reader.GetDouble(3), reader.GetDouble(4));
            if (!versions.TryGetValue(v.SensorId, out var list))
            {
                versions[v.SensorId] = list = [];
            }

            list.Add(v);
        }

        return versions;
    }

    /// <summary>
    /// Stores a new calibration version (the sensor's highest + 1; never an edit) and returns it.
    /// Concurrent additions for one sensor are serialized by a transaction-scoped advisory lock.
    /// </summary>
    public async Task<CalibrationVersion> AddVersionAsync(string sensorId, DateTimeOffset validFrom, double gain, double offset, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("select pg_advisory_xact_lock(hashtextextended('calibration:' || $1, 0))", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = sensorId });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        int version;
        await using (var insert = new NpgsqlCommand("""
            insert into calibration (sensor_id, version, valid_from, gain, "offset")
            select $1, coalesce(max(version), 0) + 1, $2, $3, $4 from calibration where sensor_id = $1
            returning version
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = sensorId });
            insert.Parameters.Add(new NpgsqlParameter { Value = validFrom.UtcDateTime });
            insert.Parameters.Add(new NpgsqlParameter { Value = gain });
            insert.Parameters.Add(new NpgsqlParameter { Value = offset });
            version = (int)(await insert.ExecuteScalarAsync(cancellationToken))!;
        }

        await transaction.CommitAsync(cancellationToken);
        return new CalibrationVersion(sensorId, version, validFrom, gain, offset);
    }

    /// <summary>A sensor's calibration history, oldest version first.</summary>
    public async Task<IReadOnlyList<CalibrationVersion>> GetHistoryAsync(string sensorId, CancellationToken cancellationToken)
    {
        var versions = await LoadVersionsAsync([sensorId], cancellationToken);
        return versions.TryGetValue(sensorId, out var list) ? list.OrderBy(v => v.Version).ToList() : [];
    }

    /// <summary>
    /// Writes one row per raw reading (<see cref="ReadingCalibrator"/> computed them). A row
    /// computed with a newer calibration version is never replaced by one computed with an older
    /// version, whichever message arrives last.
    /// </summary>
    /// <param name="rows">The calibrated values, one per raw reading.</param>
    /// <param name="expectNew">
    /// True where the readings have usually never been calibrated (the realtime topic): a plain
    /// insert is tried first, which costs less per row than the upsert, and a batch with any row
    /// already calibrated falls back to the upsert (it fails as a whole with a unique violation and
    /// writes nothing). False for recalculation, where the rows exist: the upsert at once.
    /// </param>
    /// <param name="cancellationToken">Cancels the database calls.</param>
    public async Task<int> WriteAsync(IReadOnlyList<CalibratedReading> rows, bool expectNew, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var count = rows.Count;
        var ids = new long[count];
        var times = new DateTime[count];
        var sensors = new string[count];
        var values = new double[count];
        var versionNumbers = new int[count];
        for (var i = 0; i < count; i++)
        {
            var r = rows[i];
            ids[i] = r.RawDataId;
            times[i] = r.RecordedAt.UtcDateTime;
            sensors[i] = r.SensorId;
            values[i] = r.Value;
            versionNumbers[i] = r.Version;
        }

        if (expectNew)
        {
            try
            {
                await using var insert = dataSource.CreateCommand(InsertSql);
                AddParameters(insert, ids, times, sensors, values, versionNumbers);
                return await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // Some were calibrated already (a redelivery, a reconcile republish): upsert.
            }
        }

        await using var command = dataSource.CreateCommand(InsertSql + """
            on conflict (raw_data_id, recorded_at) do update
               set value = excluded.value,
                   calibration_version = excluded.calibration_version,
                   calibrated_at = excluded.calibrated_at
             where calibrated_temperature.calibration_version <= excluded.calibration_version
            """);
        AddParameters(command, ids, times, sensors, values, versionNumbers);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameters(NpgsqlCommand command, long[] ids, DateTime[] times, string[] sensors, double[] values, int[] versions)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = sensors, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        command.Parameters.Add(new NpgsqlParameter { Value = versions, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
    }
}
