using Npgsql;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>Recalibration jobs: creation, leases, keyset pages of raw_data, progress.</summary>
public sealed class RecalibrationStore(NpgsqlDataSource dataSource)
{
    private const string Columns = """
        id, sensor_id, from_time, to_time, reason, calibration_version, state, total, published,
        cursor_sensor_id, cursor_recorded_at, created_at, updated_at, finished_at
        """;

    /// <summary>Creates a job for the readings of a sensor (or all) recorded in [from, to).</summary>
    public async Task<RecalibrationJob> CreateAsync(string? sensorId, DateTimeOffset from, DateTimeOffset to, string reason, int? version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            insert into recalibration_job (sensor_id, from_time, to_time, reason, calibration_version, total)
            select $1, $2, $3, $4, $5, count(*)
              from raw_data
             where ($1::text is null or sensor_id = $1) and recorded_at >= $2 and recorded_at < $3
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)sensorId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = reason });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)version ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return Read(reader);
    }

    /// <summary>
    /// Creates a job under the caller's <paramref name="requestId"/>, or finds the one created
    /// earlier under it (Created false): a retried request (a Kubernetes Job's pod restarted under
    /// <c>restartPolicy: OnFailure</c>) follows the same job instead of starting a second one.
    /// </summary>
    public async Task<(RecalibrationJob Job, bool Created)> CreateOrFindAsync(string requestId, string? sensorId, DateTimeOffset from, DateTimeOffset to, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        // Twice at most: a concurrent insert under the same id that committed after this
        // statement's snapshot is neither inserted nor seen by the first attempt.
        for (var attempt = 0; ; attempt++)
        {
            await using var command = dataSource.CreateCommand($"""
                with inserted as (
                    insert into recalibration_job (sensor_id, from_time, to_time, reason, calibration_version, total, request_id)
                    select $1, $2, $3, $4, null, count(*), $5
                      from raw_data
                     where ($1::text is null or sensor_id = $1) and recorded_at >= $2 and recorded_at < $3
                    on conflict (request_id) where request_id is not null do nothing
                    returning {Columns}, true as created)
                select * from inserted
                union all
                select {Columns}, false from recalibration_job
                 where request_id = $5 and not exists (select 1 from inserted)
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)sensorId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter { Value = reason });
            command.Parameters.Add(new NpgsqlParameter { Value = requestId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return (Read(reader), reader.GetBoolean(14));
            }

            if (attempt > 0)
            {
                throw new InvalidOperationException($"Recalibration request {requestId} was neither created nor found.");
            }
        }
    }

    public async Task<RecalibrationJob?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from recalibration_job where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// In one scan of the job's range: readings recalculated since the job started, and readings
    /// not (yet) recalculated — what is left. A reading published but lost before it was consumed
    /// (an in-memory development broker that died with the app) stays "remaining" until a repair
    /// pass sends it again.
    /// </summary>
    public async Task<(long Calibrated, long Remaining)> CountProgressAsync(RecalibrationJob job, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select count(*) filter (where c.calibrated_at >= $4),
                   count(*) filter (where c.calibrated_at is null or c.calibrated_at < $4)
              from raw_data r
              left join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
             where ($1::text is null or r.sensor_id = $1) and r.recorded_at >= $2 and r.recorded_at < $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.SensorId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = job.From.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = job.To.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = job.CreatedAt.UtcDateTime });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Raw row r has no calibrated value computed since the job ($4) started.</summary>
    private const string NotRecalculated = """
        not exists (select 1 from calibrated_temperature c
                     where c.raw_data_id = r.id and c.recorded_at = r.recorded_at and c.calibrated_at >= $4)
        """;

    /// <summary>
    /// Completes a running or draining job at once when every reading of its range was
    /// recalculated since it started (one statement, so it cannot complete on a stale count): there
    /// is nothing left for it to do, whatever its cursor says (a producer holding it stops at its
    /// next step). The job as completed, or null when it is not active or readings remain.
    /// </summary>
    public async Task<RecalibrationJob?> TryCompleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            update recalibration_job j set state = 'completed', finished_at = now(), updated_at = now()
             where j.id = $1 and j.state in ('running', 'draining')
               and not exists (
                   select 1 from raw_data r
                    where (j.sensor_id is null or r.sensor_id = j.sensor_id) and r.recorded_at >= j.from_time and r.recorded_at < j.to_time
                      and not exists (select 1 from calibrated_temperature c
                                       where c.raw_data_id = r.id and c.recorded_at = r.recorded_at and c.calibrated_at >= j.created_at))
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Cancels a running or draining job; false if it is not (any more).</summary>
    public async Task<bool> CancelAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            update recalibration_job set state = 'cancelled', finished_at = now(), updated_at = now()
             where id = $1 and state in ('running', 'draining')
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Takes the oldest running job that no producer holds (or whose holder stopped renewing its
    /// lease), for <paramref name="owner"/>.
    /// </summary>
    public async Task<RecalibrationJob?> ClaimAsync(string owner, TimeSpan leaseTimeout, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            update recalibration_job set owner = $1, heartbeat_at = now(), updated_at = now()
             where id = (select id from recalibration_job
                          where state = 'running' and (owner is null or owner = $1 or heartbeat_at < now() - $2)
                          order by id limit 1 for update skip locked)
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = owner });
        command.Parameters.Add(new NpgsqlParameter { Value = leaseTimeout });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// The next page of the job's readings after its cursor, in (sensor_id, recorded_at) order,
    /// keyset-paged, leaving out readings already recalculated since the job started.
    /// </summary>
    public async Task<IReadOnlyList<CalibrationRequest>> NextPageAsync(RecalibrationJob job, int pageSize, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            select {RawReadingStore.RequestColumns}
              from raw_data r
             where ($1::text is null or r.sensor_id = $1) and r.recorded_at >= $2 and r.recorded_at < $3
               and ($5::text is null or (r.sensor_id, r.recorded_at) > ($5, $6))
               and {NotRecalculated}
             order by r.sensor_id, r.recorded_at
             limit $7
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.SensorId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = job.From.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = job.To.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = job.CreatedAt.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.CursorSensorId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.CursorRecordedAt?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = pageSize });
        var page = new List<CalibrationRequest>(pageSize);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(RawReadingStore.ReadRequest(reader, 0));
        }

        return page;
    }

    /// <summary>
    /// Records that a page was published: moves the cursor, adds to published, renews the lease.
    /// Returns the job as stored now, or null when this owner lost it or it is no longer running
    /// (cancelled): the producer must stop.
    /// </summary>
    public async Task<RecalibrationJob?> AdvanceAsync(long id, string owner, string cursorSensorId, DateTimeOffset cursorRecordedAt, int published, bool last, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            update recalibration_job
               set cursor_sensor_id = $3, cursor_recorded_at = $4, published = published + $5,
                   state = case when $6 then 'draining' else state end,
                   heartbeat_at = now(), updated_at = now()
             where id = $1 and owner = $2 and state = 'running'
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = owner });
        command.Parameters.Add(new NpgsqlParameter { Value = cursorSensorId });
        command.Parameters.Add(new NpgsqlParameter { Value = cursorRecordedAt.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)published });
        command.Parameters.Add(new NpgsqlParameter { Value = last });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Renews the producer's hold on a running job; false when it lost it or the job was cancelled.</summary>
    public async Task<bool> HeartbeatAsync(long id, string owner, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "update recalibration_job set heartbeat_at = now() where id = $1 and owner = $2 and state = 'running'");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = owner });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A job with nothing (left) to publish goes straight to draining.</summary>
    public async Task MarkDrainingAsync(long id, string owner, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            update recalibration_job set state = 'draining', heartbeat_at = now(), updated_at = now()
             where id = $1 and owner = $2 and state = 'running'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = owner });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Draining jobs with nothing remaining become completed (returned). A draining job that made
    /// no visible progress for <paramref name="drainTimeout"/> while readings remain goes back to
    /// running from the start of its range: that repair pass publishes only what is still missing.
    /// </summary>
    public async Task<IReadOnlyList<RecalibrationJob>> CompleteDrainedAsync(TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        var draining = new List<RecalibrationJob>();
        await using (var command = dataSource.CreateCommand($"select {Columns} from recalibration_job where state = 'draining' order by id"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                draining.Add(Read(reader));
            }
        }

        var completed = new List<RecalibrationJob>();
        foreach (var job in draining)
        {
            if ((await CountProgressAsync(job, cancellationToken)).Remaining > 0)
            {
                await using var repair = dataSource.CreateCommand("""
                    update recalibration_job
                       set state = 'running', cursor_sensor_id = null, cursor_recorded_at = null, owner = null, updated_at = now()
                     where id = $1 and state = 'draining' and updated_at < now() - $2
                    """);
                repair.Parameters.Add(new NpgsqlParameter { Value = job.Id });
                repair.Parameters.Add(new NpgsqlParameter { Value = drainTimeout });
                await repair.ExecuteNonQueryAsync(cancellationToken);
                continue;
            }

            await using var update = dataSource.CreateCommand($"""
                update recalibration_job set state = 'completed', finished_at = now(), updated_at = now()
                 where id = $1 and state = 'draining'
                returning {Columns}
                """);
            update.Parameters.Add(new NpgsqlParameter { Value = job.Id });
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                completed.Add(Read(reader));
            }
        }

        return completed;
    }

    public async Task<IReadOnlyList<RecalibrationJob>> ListActiveAsync(CancellationToken cancellationToken)
    {
        var jobs = new List<RecalibrationJob>();
        await using var command = dataSource.CreateCommand($"select {Columns} from recalibration_job where state in ('running', 'draining') order by id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(Read(reader));
        }

        return jobs;
    }

    private static RecalibrationJob Read(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        r.IsDBNull(1) ? null : r.GetString(1),
        Utc(r.GetDateTime(2)),
        Utc(r.GetDateTime(3)),
        r.GetString(4),
        r.IsDBNull(5) ? null : r.GetInt32(5),
        r.GetString(6),
        r.GetInt64(7),
        r.GetInt64(8),
        r.IsDBNull(9) ? null : r.GetString(9),
        r.IsDBNull(10) ? null : Utc(r.GetDateTime(10)),
        Utc(r.GetDateTime(11)),
        Utc(r.GetDateTime(12)),
        r.IsDBNull(13) ? null : Utc(r.GetDateTime(13)));

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
