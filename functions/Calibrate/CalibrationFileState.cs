using Npgsql;
using NpgsqlTypes;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// The calibration file as last checked, in the database so that every replica's
/// <c>/api/status</c> and PUT answer see it: the sensors it manages, what was applied, why the last
/// content seen was refused.
/// </summary>
public sealed class CalibrationFileState(NpgsqlDataSource dataSource)
{
    /// <summary>One row: the file, its last applied content, and the last refusal (null once a later content applied).</summary>
    public sealed record Snapshot(
        string Path,
        string State,
        string SeenHash,
        string? AppliedHash,
        IReadOnlyList<string> Sensors,
        string? Error,
        int? ErrorLine,
        DateTimeOffset CheckedAt,
        DateTimeOffset? AppliedAt,
        int VersionsAdded);

    /// <summary>The file that manages <paramref name="sensorId"/> (its last applied content names it), or null.</summary>
    public async Task<string?> ManagedByAsync(string sensorId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select path from calibration_file_state where $1 = any(sensors)");
        command.Parameters.Add(new NpgsqlParameter { Value = sensorId });
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<Snapshot?> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select path, seen_hash, applied_hash, sensors, error, error_line, checked_at, applied_at, versions_added
              from calibration_file_state
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var error = reader.IsDBNull(4) ? null : reader.GetString(4);
        var applied = reader.IsDBNull(2) ? null : reader.GetString(2);
        return new Snapshot(
            reader.GetString(0),
            error is not null ? "refused" : "applied",
            reader.GetString(1),
            applied,
            reader.GetFieldValue<string[]>(3),
            error,
            reader.IsDBNull(5) ? null : reader.GetInt32(5),
            Utc(reader.GetDateTime(6)),
            reader.IsDBNull(7) ? null : Utc(reader.GetDateTime(7)),
            reader.GetInt32(8));
    }

    /// <summary>A content was applied (possibly adding nothing): it manages its sensors from now on.</summary>
    public async Task RecordAppliedAsync(string path, string hash, IReadOnlyList<string> sensors, int versionsAdded, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            insert into calibration_file_state (id, path, seen_hash, applied_hash, sensors, error, error_line, checked_at, applied_at, versions_added)
            values (1, $1, $2, $2, $3, null, null, now(), now(), $4)
            on conflict (id) do update
               set path = excluded.path, seen_hash = excluded.seen_hash, applied_hash = excluded.applied_hash,
                   sensors = excluded.sensors, error = null, error_line = null, checked_at = now(), applied_at = now(),
                   versions_added = excluded.versions_added
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = path });
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        command.Parameters.Add(new NpgsqlParameter { Value = sensors.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = versionsAdded });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A content was refused: the sensors of the last applied content stay managed, nothing else changes.</summary>
    public async Task RecordRefusedAsync(string path, string hash, string error, int? line, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            insert into calibration_file_state (id, path, seen_hash, error, error_line, checked_at)
            values (1, $1, $2, $3, $4, now())
            on conflict (id) do update
               set path = excluded.path, seen_hash = excluded.seen_hash, error = excluded.error,
                   error_line = excluded.error_line, checked_at = now()
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = path });
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        command.Parameters.Add(new NpgsqlParameter { Value = error });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)line ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
