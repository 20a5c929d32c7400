using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>The raw side: idempotent inserts of readings, and the search for uncalibrated ones.</summary>
public sealed class RawReadingStore(NpgsqlDataSource dataSource)
{
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

        // The second branch reads the snapshot from before the insert, so it returns only readings
        // stored earlier; together the two branches cover the batch once.
        await using var command = dataSource.CreateCommand("""
            with input as (
                select distinct on (sensor_id, recorded_at) *
                  from unnest($1::text[], $2::timestamptz[], $3::float8[], $4::timestamptz[], $5::text[])
                       as t(sensor_id, recorded_at, raw_value, received_at, source)
                 order by sensor_id, recorded_at
            ), inserted as (
                insert into raw_data (sensor_id, recorded_at, raw_value, received_at, source)
                select sensor_id, recorded_at, raw_value, received_at, source from input
                on conflict (sensor_id, recorded_at) do nothing
                returning id, sensor_id, recorded_at, raw_value, received_at
            )
            select id, sensor_id, recorded_at, raw_value, received_at from inserted
            union all
            select r.id, r.sensor_id, r.recorded_at, r.raw_value, r.received_at
              from raw_data r
              join input i on i.sensor_id = r.sensor_id and i.recorded_at = r.recorded_at
             where not exists (select 1 from calibrated_temperature c
                                where c.raw_data_id = r.id and c.recorded_at = r.recorded_at)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sensors, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        command.Parameters.Add(new NpgsqlParameter { Value = received, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = sources, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return await ReadRequestsAsync(command, cancellationToken);
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

    private static async Task<IReadOnlyList<CalibrationRequest>> ReadRequestsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var requests = new List<CalibrationRequest>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            requests.Add(ReadRequest(reader));
        }

        return requests;
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
