using Npgsql;
using NpgsqlTypes;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// Stable client ids for the MQTT bridge's replicas (<c>mqtt_bridge_slot</c>): each live replica
/// holds a slot number by heartbeat; a starting replica takes a stale slot first (its broker session
/// may hold queued messages), else the lowest unused number. The table's key and a conditional
/// upsert make a slot one holder's at a time.
/// </summary>
public sealed class MqttBridgeSlots(NpgsqlDataSource dataSource)
{
    /// <summary>Claims a slot for <paramref name="holder"/>: null when another replica took the chosen one meanwhile (try again).</summary>
    public async Task<int?> TryClaimAsync(string group, string holder, TimeSpan staleAfter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            with candidate as (
                select slot, 0 as rank from mqtt_bridge_slot
                 where bridge_group = $1 and (heartbeat_at <= now() - $3 or holder = $2)
                union all
                select s, 1 from generate_series(0, (select count(*) from mqtt_bridge_slot where bridge_group = $1)::int) s
                 where not exists (select 1 from mqtt_bridge_slot m where m.bridge_group = $1 and m.slot = s)
                order by rank, slot
                limit 1
            )
            insert into mqtt_bridge_slot (bridge_group, slot, holder, heartbeat_at)
            select $1, slot, $2, now() from candidate
            on conflict (bridge_group, slot) do update set holder = excluded.holder, heartbeat_at = now()
             where mqtt_bridge_slot.heartbeat_at <= now() - $3 or mqtt_bridge_slot.holder = excluded.holder
            returning slot
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = holder });
        command.Parameters.Add(new NpgsqlParameter { Value = staleAfter, NpgsqlDbType = NpgsqlDbType.Interval });
        return await command.ExecuteScalarAsync(cancellationToken) is int slot ? slot : null;
    }

    /// <summary>Keeps the slot; false when it is no longer this holder's (it was stale and taken).</summary>
    public async Task<bool> HeartbeatAsync(string group, int slot, string holder, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("update mqtt_bridge_slot set heartbeat_at = now() where bridge_group = $1 and slot = $2 and holder = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        command.Parameters.Add(new NpgsqlParameter { Value = holder });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Live replicas of the group other than this slot's holder.</summary>
    public async Task<long> OthersAliveAsync(string group, int slot, TimeSpan staleAfter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select count(*) from mqtt_bridge_slot where bridge_group = $1 and slot <> $2 and heartbeat_at > now() - $3");
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        command.Parameters.Add(new NpgsqlParameter { Value = staleAfter, NpgsqlDbType = NpgsqlDbType.Interval });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Gives the slot up: deleted when its broker session was ended, left stale (free, first in
    /// line) when the session was kept for the next replica to resume.
    /// </summary>
    public async Task ReleaseAsync(string group, int slot, string holder, bool sessionKept, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sessionKept
            ? "update mqtt_bridge_slot set heartbeat_at = '-infinity' where bridge_group = $1 and slot = $2 and holder = $3"
            : "delete from mqtt_bridge_slot where bridge_group = $1 and slot = $2 and holder = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        command.Parameters.Add(new NpgsqlParameter { Value = holder });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
