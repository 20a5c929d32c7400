using Npgsql;
using NpgsqlTypes;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// Signed requests already seen (<c>signed_request_seen</c>), shared by every replica: the table's
/// unique key makes the first sight of a (device, timestamp, signature) win and every repeat a
/// replay, whichever replica it reaches. Rows outlive the signature window only until the next
/// cleanup.
/// </summary>
public sealed class SignedRequestLedger(NpgsqlDataSource dataSource)
{
    /// <summary>Records the request; false when it was recorded before (a replay).</summary>
    public async Task<bool> FirstSightAsync(string deviceId, long signedAt, byte[] signature, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            insert into signed_request_seen (device_id, signed_at, signature) values ($1, $2, $3)
            on conflict do nothing
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = signedAt, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = signature, NpgsqlDbType = NpgsqlDbType.Bytea });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Deletes what was signed before <paramref name="signedBefore"/> (Unix seconds): such a timestamp is stale anyway.</summary>
    public async Task<int> ForgetBeforeAsync(long signedBefore, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from signed_request_seen where signed_at < $1");
        command.Parameters.Add(new NpgsqlParameter { Value = signedBefore, NpgsqlDbType = NpgsqlDbType.Bigint });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
