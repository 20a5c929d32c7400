using Npgsql;

namespace SensorPipeline.Runtime.Timers;

/// <summary>Schedule status in a PostgreSQL table; the claim is one atomic conditional upsert.</summary>
public sealed class PostgresScheduleMonitor(NpgsqlDataSource dataSource) : IScheduleMonitor
{
    private int _created;

    public async Task<DateTimeOffset?> GetLastAsync(string timer, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            "select last_occurrence from functions_timer_status where timer_name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = timer });
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DateTime last ? new DateTimeOffset(last, TimeSpan.Zero) : null;
    }

    public async Task<bool> TryClaimAsync(string timer, DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("""
            insert into functions_timer_status (timer_name, last_occurrence, claimed_at, claimed_by)
            values ($1, $2, now(), $3)
            on conflict (timer_name) do update
               set last_occurrence = excluded.last_occurrence, claimed_at = now(), claimed_by = excluded.claimed_by
             where functions_timer_status.last_occurrence < excluded.last_occurrence
            returning 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = timer });
        command.Parameters.Add(new NpgsqlParameter { Value = occurrence.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{Environment.MachineName}/{Environment.ProcessId}" });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 1)
        {
            return;
        }

        await using var command = dataSource.CreateCommand("""
            create table if not exists functions_timer_status (
                timer_name text primary key,
                last_occurrence timestamptz not null,
                claimed_at timestamptz not null,
                claimed_by text not null)
            """);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateObject)
        {
            // Another replica created it at the same moment.
        }

        Volatile.Write(ref _created, 1);
    }
}
