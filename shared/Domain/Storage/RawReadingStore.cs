using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>The raw side: idempotent inserts of readings, and the search for uncalibrated ones.</summary>
public sealed class RawReadingStore(NpgsqlDataSource dataSource)
{
    /// <summary>The batch insert, sorted by key; the plain and the idempotent form add to it.</summary>
    private const string InsertSql = """
        insert into raw_data (sensor_id, recorded_at, raw_value, received_at, source)
        select sensor_id, recorded_at, raw_value, received_at, source
          from unnest($1::text[], $2::timestamptz[], $3::float8[], $4::timestamptz[], $5::text[])
               as t(sensor_id, recorded_at, raw_value, received_at, source)
         order by sensor_id, recorded_at

        """;

    private const string Returning = "returning id, sensor_id, recorded_at, raw_value, received_at";

    /// <summary>
    /// Inserts the readings in one statement (a reading already stored — same sensor and time — is
    /// left as it is: raw is immutable) and returns every reading of the batch that has no
    /// calibrated value yet, new or not, with its raw id, ready to publish for calibration.
    /// </summary>
    public async Task<IReadOnlyList<CalibrationRequest>> InsertAsync(IReadOnlyList<RawReadingMessage> readings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var count = readings.Count;
        var sensors = new string[count];
        var times = new DateTime[count];
        var values = new double[count];
        var received = new DateTime[count];
        var sources = new string?[count];
        for (var i = 0; i < count; i++)
        {
            var r = readings[i];
            sensors[i] = r.SensorId;
            times[i] = r.RecordedAt.UtcDateTime;
            values[i] = r.Value;
            received[i] = r.ReceivedAt.UtcDateTime;
            sources[i] = r.Source;
        }

        // The common case is a batch of readings the table has never seen: a plain insert returns
        // them all. It skips what ON CONFLICT costs per row (an index probe before the insert and
        // a speculative-insertion lock); measured on this machine's PostgreSQL 15, two plain
        // inserts per reading took ~35% less time than the ON CONFLICT forms. A batch with any
        // reading already stored (a replay, a redelivery, a duplicate within the batch) fails as a
        // whole with a unique violation, writes nothing, and takes the idempotent path below.
        // Sorted by key, concurrent inserts of overlapping batches take their locks in one order.
        var requests = new List<CalibrationRequest>(count);
        try
        {
            await using var plain = dataSource.CreateCommand(InsertSql + Returning);
            AddParameters(plain, sensors, times, values, received, sources);
            await ReadRequestsAsync(plain, requests, cancellationToken);
            return requests;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            requests.Clear();
        }

        // Idempotent path: readings new to the table come back from the insert; readings stored
        // before are looked up only when the insert returned fewer rows than it was given.
        await using (var insert = dataSource.CreateCommand(InsertSql + "on conflict (sensor_id, recorded_at) do nothing\n" + Returning))
        {
            AddParameters(insert, sensors, times, values, received, sources);
            await ReadRequestsAsync(insert, requests, cancellationToken);
        }

        if (requests.Count == count)
        {
            return requests;
        }

        // Some were there already (or repeated within the batch): return those of them that have no
        // calibrated value yet. A statement of its own sees rows committed by concurrent inserts
        // that this insert waited for.
        var inserted = requests.Count;
        await using var stored = dataSource.CreateCommand("""
            select r.id, r.sensor_id, r.recorded_at, r.raw_value, r.received_at
              from (select distinct sensor_id, recorded_at from unnest($1::text[], $2::timestamptz[]) as t(sensor_id, recorded_at)) i
              join raw_data r on r.sensor_id = i.sensor_id and r.recorded_at = i.recorded_at
             where r.id <> all($3)
               and not exists (select 1 from calibrated_temperature c
                                where c.raw_data_id = r.id and c.recorded_at = r.recorded_at)
            """);
        var insertedIds = new long[inserted];
        for (var i = 0; i < inserted; i++)
        {
            insertedIds[i] = requests[i].RawDataId;
        }

        stored.Parameters.Add(new NpgsqlParameter { Value = sensors, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        stored.Parameters.Add(new NpgsqlParameter { Value = times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        stored.Parameters.Add(new NpgsqlParameter { Value = insertedIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        await ReadRequestsAsync(stored, requests, cancellationToken);
        return requests;
    }

    /// <summary>
    /// Raw readings received between <paramref name="lookback"/> and <paramref name="grace"/> ago
    /// that have no calibrated value, oldest first, at most <paramref name="limit"/>; and how many
    /// there are in all, and the oldest one's receive time.
    /// </summary>
    public async Task<UncalibratedReport> FindUncalibratedAsync(TimeSpan grace, TimeSpan lookback, int limit, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        const string Where = """
            from raw_data r
             where r.received_at < now() - $1 and r.received_at >= now() - $2
               and not exists (select 1 from calibrated_temperature c
                                where c.raw_data_id = r.id and c.recorded_at = r.recorded_at)
            """;
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"select count(*), min(r.received_at) {Where}")
        {
            Parameters = { new NpgsqlParameter { Value = grace }, new NpgsqlParameter { Value = lookback } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"select r.id, r.sensor_id, r.recorded_at, r.raw_value, r.received_at {Where} order by r.received_at limit $3")
        {
            Parameters = { new NpgsqlParameter { Value = grace }, new NpgsqlParameter { Value = lookback }, new NpgsqlParameter { Value = limit } },
        });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = reader.GetInt64(0);
        DateTimeOffset? oldest = reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero);
        await reader.NextResultAsync(cancellationToken);
        var requests = new List<CalibrationRequest>();
        while (await reader.ReadAsync(cancellationToken))
        {
            requests.Add(ReadRequest(reader));
        }

        return new UncalibratedReport(total, oldest, requests);
    }

    private static void AddParameters(NpgsqlCommand command, string[] sensors, DateTime[] times, double[] values, DateTime[] received, string?[] sources)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = sensors, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        command.Parameters.Add(new NpgsqlParameter { Value = received, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = sources, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
    }

    private static async Task ReadRequestsAsync(NpgsqlCommand command, List<CalibrationRequest> requests, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            requests.Add(ReadRequest(reader));
        }
    }

    private static CalibrationRequest ReadRequest(NpgsqlDataReader reader) => new()
    {
        RawDataId = reader.GetInt64(0),
        SensorId = reader.GetString(1),
        RecordedAt = new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero),
        RawValue = reader.GetDouble(3),
        ReceivedAt = new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero),
    };
}

/// <summary>What the reconcile timer found.</summary>
public sealed record UncalibratedReport(long Total, DateTimeOffset? OldestReceivedAt, IReadOnlyList<CalibrationRequest> Page);
