using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>The raw side: idempotent inserts of readings, and the search for uncalibrated ones.</summary>
public sealed class RawReadingStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// The batch insert, sorted by key (concurrent inserts of overlapping batches take their locks
    /// in one order). It returns each inserted row's id with the position of its reading in the
    /// batch (<c>with ordinality</c>), so the caller pairs them positionally; the idempotent form
    /// adds its conflict clause at <c>{0}</c>. The payloads the readings came in are written by the
    /// same statement (one transaction): a reading is never stored without its payload row. A
    /// payload's first message carries it in full, the others its id: a row written from a later
    /// message (its first one in another batch, not yet committed) has only id and receive time,
    /// and the first message completes it; a complete row stays as it is.
    /// </summary>
    private static readonly string InsertSql = $$"""
        with payloads as (
          insert into payload ({{PayloadRows.Columns}}, accepted)
          select p.*, true from ({{PayloadRows.Select(8)}}) as p
           order by 1
          on conflict (id, received_at) do update set
                door = coalesce(payload.door, excluded.door), device_id = coalesce(payload.device_id, excluded.device_id),
                source = coalesce(payload.source, excluded.source), format = coalesce(payload.format, excluded.format),
                decoder_version = coalesce(payload.decoder_version, excluded.decoder_version),
                size_bytes = coalesce(payload.size_bytes, excluded.size_bytes), sha256 = coalesce(payload.sha256, excluded.sha256),
                content = coalesce(payload.content, excluded.content),
                reading_count = case when payload.format is null then excluded.reading_count else payload.reading_count end
           where (payload.format is null and excluded.format is not null) or (payload.content is null and excluded.content is not null)
        ), batch as (
          select * from unnest($1::text[], $2::timestamptz[], $3::float8[], $4::timestamptz[], $5::text[], $6::text[], $7::uuid[])
                   with ordinality as t(sensor_id, recorded_at, raw_value, received_at, source, unit, payload_id, position)
        ), inserted as (
          insert into raw_data (sensor_id, recorded_at, raw_value, received_at, source, unit, payload_id)
          select sensor_id, recorded_at, raw_value, received_at, source, coalesce(unit, 'degC'), payload_id from batch order by sensor_id, recorded_at
          {0}
          returning id, sensor_id, recorded_at
        )
        select b.position, i.id from inserted i join batch b using (sensor_id, recorded_at)
        """;

    /// <summary>
    /// Inserts the readings in one statement (a reading already stored — same sensor and time — is
    /// left as it is: raw is immutable) and returns every reading of the batch that has no
    /// calibrated value yet, new or not, with its raw id and its position in
    /// <paramref name="readings"/>, ready to publish for calibration. A reading stored before keeps
    /// its stored value and receive time.
    /// </summary>
    public Task<IReadOnlyList<StoredReading>> InsertAsync(IReadOnlyList<RawReadingMessage> readings, CancellationToken cancellationToken) =>
        InsertAsync(readings, null, cancellationToken);

    /// <inheritdoc cref="InsertAsync(IReadOnlyList{RawReadingMessage}, CancellationToken)"/>
    /// <param name="readings">The batch.</param>
    /// <param name="conflicting">Told how many readings of the batch were stored before with another value in degrees Celsius (the first one stays).</param>
    /// <param name="cancellationToken">Cancels the database calls.</param>
    public async Task<IReadOnlyList<StoredReading>> InsertAsync(IReadOnlyList<RawReadingMessage> readings, Action<long>? conflicting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var count = readings.Count;
        var columns = new Columns(count);
        for (var i = 0; i < count; i++)
        {
            columns.Set(i, readings[i]);
        }

        // The common case is a batch of readings the table has never seen: a plain insert returns
        // them all. It skips what ON CONFLICT costs per row (an index probe before the insert and
        // a speculative-insertion lock; about a third of the two writes' time per reading). A batch
        // with any reading already stored (a replay, a redelivery, a duplicate within the batch)
        // fails as a whole with a unique violation, writes nothing, and takes the idempotent path.
        var stored = new List<StoredReading>(count);
        try
        {
            await using var plain = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, InsertSql, ""));
            columns.AddTo(plain);
            await ReadInsertedAsync(plain, readings, stored, cancellationToken);
            return stored;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            stored.Clear();
        }

        // Idempotent path: readings new to the table come back from the insert; readings stored
        // before are looked up only when the insert returned fewer rows than it was given.
        await using (var insert = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, InsertSql, "on conflict (sensor_id, recorded_at) do nothing")))
        {
            columns.AddTo(insert);
            await ReadInsertedAsync(insert, readings, stored, cancellationToken);
        }

        // A reading repeated within the batch was inserted once: one request for it (its first position).
        stored = stored.GroupBy(x => x.Request.RawDataId).Select(g => g.MinBy(x => x.Index)).ToList();
        if (stored.Count == count)
        {
            return stored;
        }

        // Some were stored before (another format, a replay): those with another value in Celsius
        // are counted. The stored value stays (first wins).
        if (conflicting is not null)
        {
            await using var conflicts = dataSource.CreateCommand("""
                select count(*)
                  from unnest($1::text[], $2::timestamptz[], $3::float8[], $4::text[]) as b(sensor_id, recorded_at, raw_value, unit)
                  join raw_data r on r.sensor_id = b.sensor_id and r.recorded_at = b.recorded_at
                 where abs(reading_celsius(r.raw_value, r.unit) - reading_celsius(b.raw_value, b.unit)) > 1e-9
                """);
            conflicts.Parameters.Add(new NpgsqlParameter { Value = columns.Sensors, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            conflicts.Parameters.Add(new NpgsqlParameter { Value = columns.Times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            conflicts.Parameters.Add(new NpgsqlParameter { Value = columns.Values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
            conflicts.Parameters.Add(new NpgsqlParameter { Value = columns.Units, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            var different = (long)(await conflicts.ExecuteScalarAsync(cancellationToken))!;
            if (different > 0)
            {
                conflicting(different);
            }
        }

        // Some were there already (or repeated within the batch): return those of them that have no
        // calibrated value yet, with the stored value. A statement of its own sees rows committed
        // by concurrent inserts that this insert waited for.
        var insertedIds = stored.Select(s => s.Request.RawDataId).ToArray();
        await using var lookup = dataSource.CreateCommand($"""
            select distinct on (r.id) b.position, {RequestColumns}
              from unnest($1::text[], $2::timestamptz[]) with ordinality as b(sensor_id, recorded_at, position)
              join raw_data r on r.sensor_id = b.sensor_id and r.recorded_at = b.recorded_at
             where r.id <> all($3)
               and not exists (select 1 from calibrated_temperature c
                                where c.raw_data_id = r.id and c.recorded_at = r.recorded_at)
             order by r.id, b.position
            """);
        lookup.Parameters.Add(new NpgsqlParameter { Value = columns.Sensors, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        lookup.Parameters.Add(new NpgsqlParameter { Value = columns.Times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        lookup.Parameters.Add(new NpgsqlParameter { Value = insertedIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        await using var reader = await lookup.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(new StoredReading((int)reader.GetInt64(0) - 1, ReadRequest(reader, 1)));
        }

        return stored;
    }

    /// <summary>The columns a <see cref="CalibrationRequest"/> is read from, of <c>raw_data r</c>, in <see cref="ReadRequest"/>'s order (the one statement of that list).</summary>
    internal const string RequestColumns = "r.id, r.sensor_id, r.recorded_at, r.raw_value, r.received_at, r.unit";

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
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"select {RequestColumns} {Where} order by r.received_at limit $3")
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
            requests.Add(ReadRequest(reader, 0));
        }

        return new UncalibratedReport(total, oldest, requests);
    }

    /// <summary>The batch as the insert's array parameters: the readings, and their payloads once each.</summary>
    private sealed class Columns(int count)
    {
        public readonly string[] Sensors = new string[count];
        public readonly DateTime[] Times = new DateTime[count];
        public readonly double[] Values = new double[count];
        public readonly string?[] Units = new string?[count];
        private readonly DateTime[] _received = new DateTime[count];
        private readonly string?[] _sources = new string?[count];
        private readonly Guid?[] _payloadIds = new Guid?[count];
        /// <summary>Each payload carried in full once (the one with content when a message has it: its first message).</summary>
        private readonly Dictionary<Guid, PayloadInfo> _payloads = [];
        /// <summary>Payloads only referred to by id in this batch, with the receive time of their first such reading.</summary>
        private readonly Dictionary<Guid, DateTime> _referenced = [];

        public void Set(int i, RawReadingMessage r)
        {
            Sensors[i] = r.SensorId;
            Times[i] = r.RecordedAt.UtcDateTime;
            Values[i] = r.Value;
            Units[i] = r.Unit;
            _received[i] = r.ReceivedAt.UtcDateTime;
            _sources[i] = r.Source;
            if (r.Payload is { } p)
            {
                _payloadIds[i] = p.Id;
                if (!_payloads.TryGetValue(p.Id, out var seen) || (seen.Content is null && p.Content is not null))
                {
                    _payloads[p.Id] = p;
                }
            }
            else if (r.PayloadId is { } id)
            {
                _payloadIds[i] = id;
                _referenced.TryAdd(id, _received[i]);
            }
        }

        public void AddTo(NpgsqlCommand command)
        {
            Add(command, Sensors, NpgsqlDbType.Text);
            Add(command, Times, NpgsqlDbType.TimestampTz);
            Add(command, Values, NpgsqlDbType.Double);
            Add(command, _received, NpgsqlDbType.TimestampTz);
            Add(command, _sources, NpgsqlDbType.Text);
            Add(command, Units, NpgsqlDbType.Text);
            Add(command, _payloadIds, NpgsqlDbType.Uuid);
            PayloadRows.Add(command.Parameters, _payloads.Values, _referenced.Where(x => !_payloads.ContainsKey(x.Key)).Select(x => (x.Key, x.Value)).ToList());
        }

        private static void Add(NpgsqlCommand command, object value, NpgsqlDbType type) =>
            command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Array | type });
    }

    /// <summary>Rows of (position, id) from the insert: the request is the batch's reading with its new id.</summary>
    private static async Task ReadInsertedAsync(NpgsqlCommand command, IReadOnlyList<RawReadingMessage> readings, List<StoredReading> stored, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var index = (int)reader.GetInt64(0) - 1;
            stored.Add(new StoredReading(index, CalibrationRequest.For(readings[index], reader.GetInt64(1))));
        }
    }

    /// <summary>A stored reading as a calibration request, from <see cref="RequestColumns"/> starting at column <paramref name="first"/>.</summary>
    internal static CalibrationRequest ReadRequest(NpgsqlDataReader reader, int first) => new()
    {
        RawDataId = reader.GetInt64(first),
        SensorId = reader.GetString(first + 1),
        RecordedAt = new DateTimeOffset(reader.GetDateTime(first + 2), TimeSpan.Zero),
        RawValue = reader.GetDouble(first + 3),
        ReceivedAt = new DateTimeOffset(reader.GetDateTime(first + 4), TimeSpan.Zero),
        Unit = reader.GetString(first + 5) is var unit && unit == Ingest.ReadingUnits.Celsius ? null : unit,
    };
}
