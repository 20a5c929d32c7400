using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// The payload ledger outside the readings' own statement (<see cref="RawReadingStore"/> writes an
/// accepted payload with its readings): refused payloads with their errors, accepted payloads that
/// yielded no readings, the error list and counts, replay outcomes, retention.
/// </summary>
public sealed class PayloadLedgerStore(NpgsqlDataSource dataSource)
{
    /// <summary>Characters of a payload shown as its excerpt.</summary>
    public const int ExcerptChars = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Writes refused payloads (payload row, accepted = false) and their error rows, in one (implicit) transaction.</summary>
    public async Task WriteRefusalsAsync(IReadOnlyList<IngestRefusal> refusals, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(refusals);
        if (refusals.Count == 0)
        {
            return;
        }

        await using var batch = dataSource.CreateBatch();
        var payloads = new NpgsqlBatchCommand($"""
            insert into payload ({PayloadRows.Columns}, accepted)
            select p.*, false from ({PayloadRows.Select(1)}) as p
            on conflict (id, received_at) do nothing
            """);
        PayloadRows.Add(payloads.Parameters, refusals);
        batch.BatchCommands.Add(payloads);

        var errors = new NpgsqlBatchCommand("""
            insert into ingest_error (payload_id, received_at, door, device_id, source, reason, status, errors, excerpt)
            select * from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::jsonb[], $9::text[])
            """);
        Add(errors, refusals.Select(r => r.PayloadId).ToArray(), NpgsqlDbType.Uuid);
        Add(errors, refusals.Select(r => r.ReceivedAt.UtcDateTime).ToArray(), NpgsqlDbType.TimestampTz);
        Add(errors, refusals.Select(r => r.Door).ToArray(), NpgsqlDbType.Text);
        Add(errors, refusals.Select(r => r.DeviceId).ToArray(), NpgsqlDbType.Text);
        Add(errors, refusals.Select(r => r.Source).ToArray(), NpgsqlDbType.Text);
        Add(errors, refusals.Select(r => r.Reason).ToArray(), NpgsqlDbType.Text);
        Add(errors, refusals.Select(r => r.Status).ToArray(), NpgsqlDbType.Integer);
        Add(errors, refusals.Select(r => JsonSerializer.Serialize(r.Errors, Json)).ToArray(), NpgsqlDbType.Jsonb);
        Add(errors, refusals.Select(r => Excerpt(r.Content)).ToArray(), NpgsqlDbType.Text);
        batch.BatchCommands.Add(errors);

        // One batch is one implicit transaction: both rows or neither.
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Adds refusals counted but not stored (over a source's rate), per UTC day and reason.</summary>
    public async Task AddNotStoredAsync(IReadOnlyDictionary<string, long> byReason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(byReason);
        if (byReason.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand("""
            insert into ingest_error_suppressed (day, reason, count)
            select $1, r, c from unnest($2::text[], $3::bigint[]) as t(r, c)
            on conflict (day, reason) do update set count = ingest_error_suppressed.count + excluded.count
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = DateOnly.FromDateTime(now.UtcDateTime), NpgsqlDbType = NpgsqlDbType.Date });
        Add(command, byReason.Keys.ToArray(), NpgsqlDbType.Text);
        Add(command, byReason.Values.ToArray(), NpgsqlDbType.Bigint);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>An accepted payload that yielded no readings (nothing else would write its row).</summary>
    public async Task WriteAcceptedWithoutReadingsAsync(PayloadInfo payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(payload);
        await using var command = dataSource.CreateCommand("""
            insert into payload (id, received_at, door, device_id, source, format, decoder_version, size_bytes, sha256, content, reading_count, accepted)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, true)
            on conflict (id, received_at) do nothing
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = payload.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = payload.ReceivedAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = payload.Door });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)payload.DeviceId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)payload.Source ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = payload.Format });
        command.Parameters.Add(new NpgsqlParameter { Value = payload.DecoderVersion });
        command.Parameters.Add(new NpgsqlParameter { Value = payload.SizeBytes });
        command.Parameters.Add(new NpgsqlParameter { Value = payload.Sha256 });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)payload.Content ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Refused payloads, newest first (by id), filtered, one page.</summary>
    public async Task<IReadOnlyList<IngestErrorRow>> ListAsync(IngestErrorFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var command = dataSource.CreateCommand("""
            select e.id, e.payload_id, e.received_at, e.door, e.device_id, e.source, e.reason, e.status, e.errors::text, e.excerpt,
                   p.format, coalesce(p.size_bytes, 0), e.replayed_at, e.replay_outcome, e.replay_payload_id
              from ingest_error e
              left join payload p on p.id = e.payload_id and p.received_at = e.received_at
             where ($1::text is null or e.device_id = $1)
               and ($2::text is null or e.reason = $2)
               and ($3::timestamptz is null or e.received_at >= $3)
               and ($4::timestamptz is null or e.received_at < $4)
               and ($5::bigint is null or e.id < $5)
             order by e.id desc
             limit $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.DeviceId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Reason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.From?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.To?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = filter.Limit });
        var rows = new List<IngestErrorRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new IngestErrorRow(
                reader.GetInt64(0), reader.GetGuid(1), Utc(reader.GetDateTime(2)), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetString(6), reader.GetInt32(7),
                JsonSerializer.Deserialize<List<ReadingError>>(reader.GetString(8), Json) ?? [],
                reader.IsDBNull(9) ? null : reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetString(10),
                reader.GetInt32(11), reader.IsDBNull(12) ? null : Utc(reader.GetDateTime(12)),
                reader.IsDBNull(13) ? null : reader.GetString(13), reader.IsDBNull(14) ? null : reader.GetGuid(14)));
        }

        return rows;
    }

    /// <summary>The refused payload of error <paramref name="errorId"/>, or null.</summary>
    public async Task<StoredPayload?> GetForReplayAsync(long errorId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select e.id, e.payload_id, e.door, e.device_id, e.source, p.format, coalesce(p.size_bytes, 0), p.content
              from ingest_error e
              left join payload p on p.id = e.payload_id and p.received_at = e.received_at
             where e.id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = errorId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredPayload(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6), reader.IsDBNull(7) ? null : (byte[])reader.GetValue(7));
    }

    /// <summary>Records what a replay of error <paramref name="errorId"/> came to.</summary>
    public async Task RecordReplayAsync(long errorId, string outcome, Guid? replayPayloadId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "update ingest_error set replayed_at = now(), replay_outcome = $2, replay_payload_id = $3 where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = errorId });
        command.Parameters.Add(new NpgsqlParameter { Value = outcome });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)replayPayloadId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Stored refusals by reason (most first), and all refusals counted but not stored.</summary>
    public async Task<IngestErrorCounts> CountAsync(CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select reason, count(*) from ingest_error group by reason order by count(*) desc, reason"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select coalesce(sum(count), 0)::bigint from ingest_error_suppressed"));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var byReason = new List<ReasonCount>();
        while (await reader.ReadAsync(cancellationToken))
        {
            byReason.Add(new ReasonCount(reader.GetString(0), reader.GetInt64(1)));
        }

        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new IngestErrorCounts(byReason, reader.GetInt64(0));
    }

    /// <summary>
    /// Deletes ledger rows received before <paramref name="cutoff"/>, at most <paramref name="batchSize"/>
    /// per table and call (short transactions); <paramref name="payloads"/> false leaves the payload
    /// table to TimescaleDB's retention policy. Returns how many rows it deleted.
    /// </summary>
    public async Task<long> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, bool payloads, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        var at = cutoff.UtcDateTime;
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            delete from ingest_error where id in (select id from ingest_error where received_at < $1 order by received_at limit $2)
            """) { Parameters = { new NpgsqlParameter { Value = at, NpgsqlDbType = NpgsqlDbType.TimestampTz }, new NpgsqlParameter { Value = batchSize } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("delete from ingest_error_suppressed where day < $1::timestamptz::date")
        {
            Parameters = { new NpgsqlParameter { Value = at, NpgsqlDbType = NpgsqlDbType.TimestampTz } },
        });
        if (payloads)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("""
                delete from payload where (id, received_at) in
                  (select id, received_at from payload where received_at < $1 order by received_at limit $2)
                """) { Parameters = { new NpgsqlParameter { Value = at, NpgsqlDbType = NpgsqlDbType.TimestampTz }, new NpgsqlParameter { Value = batchSize } } });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return batch.BatchCommands.Cast<NpgsqlBatchCommand>().Sum(c => (long)c.RecordsAffected);
    }

    /// <summary>The rollout views: per format and day since <paramref name="since"/>; devices in more than one format; devices whose refusals rose after a format change.</summary>
    public async Task<RolloutReport> RolloutAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select format, day, devices, payloads, readings from format_daily where day >= $1 order by day, format")
        {
            Parameters = { new NpgsqlParameter { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select device_id, formats, current_format, current_since, went_back from device_multi_format order by current_since desc limit $1")
        {
            Parameters = { new NpgsqlParameter { Value = limit } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            select device_id, current_format, changed_at, refusals_before, refusals_after
              from device_refusals_after_format_change where refusals_after > refusals_before
             order by refusals_after - refusals_before desc limit $1
            """) { Parameters = { new NpgsqlParameter { Value = limit } } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var daily = new List<FormatDay>();
        while (await reader.ReadAsync(cancellationToken))
        {
            daily.Add(new FormatDay(reader.GetString(0), Utc(reader.GetDateTime(1)), reader.GetInt64(2), reader.GetInt64(3), reader.IsDBNull(4) ? 0 : reader.GetInt64(4)));
        }

        await reader.NextResultAsync(cancellationToken);
        var multi = new List<DeviceFormats>();
        while (await reader.ReadAsync(cancellationToken))
        {
            multi.Add(new DeviceFormats(reader.GetString(0), reader.GetFieldValue<string[]>(1), reader.GetString(2), Utc(reader.GetDateTime(3)), reader.GetBoolean(4)));
        }

        await reader.NextResultAsync(cancellationToken);
        var rose = new List<RefusalChange>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rose.Add(new RefusalChange(reader.GetString(0), reader.GetString(1), Utc(reader.GetDateTime(2)), reader.GetInt64(3), reader.GetInt64(4)));
        }

        return new RolloutReport(daily, multi, rose);
    }

    /// <summary>The first <see cref="ExcerptChars"/> characters of a payload (invalid UTF-8 replaced).</summary>
    public static string? Excerpt(byte[]? content)
    {
        if (content is null)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(content, 0, Math.Min(content.Length, ExcerptChars * 4));
        return text.Length <= ExcerptChars ? text : text[..ExcerptChars];
    }

    private static void Add(NpgsqlBatchCommand command, object value, NpgsqlDbType type) =>
        command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Array | type });

    private static void Add(NpgsqlCommand command, object value, NpgsqlDbType type) =>
        command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Array | type });

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
