using Npgsql;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// Brings the hourly and daily rollups up to date for a time range whose calibrated values
/// changed (a recalibration). On TimescaleDB the rollups are continuous aggregates whose refresh
/// policies only look at the last few days, so changes to older history are materialized here; in
/// plain mode the rollups are views and always current, so there is nothing to do.
/// </summary>
public sealed class RollupRefresher(NpgsqlDataSource dataSource)
{
    private static readonly (string View, TimeSpan Bucket)[] Rollups =
    [
        ("calibrated_hourly", TimeSpan.FromHours(1)),
        ("calibrated_daily", TimeSpan.FromDays(1)),
    ];

    private volatile bool _continuous; // cached once true; plain mode asks again (cheap) in case the database was upgraded

    /// <summary>
    /// Refreshes every bucket that overlaps [<paramref name="from"/>, <paramref name="to"/>) in
    /// both rollups (the range is widened to whole buckets: TimescaleDB refreshes only buckets
    /// entirely inside the window). Returns false in plain mode, where there is nothing to refresh.
    /// Runs outside a transaction, as <c>refresh_continuous_aggregate</c> requires; may take a
    /// while for a long range, so there is no command timeout — cancel to stop it.
    /// </summary>
    public async Task<bool> RefreshRollupsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (to < from)
        {
            throw new ArgumentException($"The range ends ({to:O}) before it starts ({from:O}).", nameof(to));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await IsContinuousAsync(connection, cancellationToken))
        {
            return false;
        }

        foreach (var (view, bucket) in Rollups)
        {
            var (start, end) = Widen(from, to, bucket);
            // The view name is a constant from the list above, never input.
            await using var command = new NpgsqlCommand($"call refresh_continuous_aggregate('{view}', $1, $2)", connection) { CommandTimeout = 0 };
            command.Parameters.Add(new NpgsqlParameter { Value = start.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter { Value = end.UtcDateTime });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return true;
    }

    /// <summary>[from, to) widened outwards to whole UTC buckets (buckets start at the Unix epoch's multiples).</summary>
    internal static (DateTimeOffset Start, DateTimeOffset End) Widen(DateTimeOffset from, DateTimeOffset to, TimeSpan bucket)
    {
        var start = from.UtcTicks - ((from.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % bucket.Ticks + bucket.Ticks) % bucket.Ticks;
        var endRemainder = ((to.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % bucket.Ticks + bucket.Ticks) % bucket.Ticks;
        var end = endRemainder == 0 ? to.UtcTicks : to.UtcTicks - endRemainder + bucket.Ticks;
        if (end == start)
        {
            end += bucket.Ticks;
        }

        return (new DateTimeOffset(start, TimeSpan.Zero), new DateTimeOffset(end, TimeSpan.Zero));
    }

    /// <summary>Whether 003_rollups was applied in TimescaleDB mode (the rollups are continuous aggregates).</summary>
    private async Task<bool> IsContinuousAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_continuous)
        {
            return true;
        }

        await using var command = new NpgsqlCommand("select mode from schema_migrations where id = '003_rollups'", connection);
        var mode = await command.ExecuteScalarAsync(cancellationToken) as string
            ?? throw new InvalidOperationException("Migration 003_rollups has not been applied: run the migrations first.");
        return _continuous = mode == nameof(DatabaseMode.TimescaleDb);
    }
}
