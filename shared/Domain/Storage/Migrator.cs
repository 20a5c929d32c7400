using System.Reflection;
using Npgsql;

namespace SensorPipeline.Domain.Storage;

/// <summary>Which storage features the database has.</summary>
public enum DatabaseMode
{
    /// <summary>Plain PostgreSQL: ordinary tables, rollups by query.</summary>
    Plain,
    /// <summary>TimescaleDB: hypertables, compression, continuous aggregates.</summary>
    TimescaleDb,
}

/// <summary>The outcome of a migration run.</summary>
public sealed record MigrationResult(DatabaseMode Mode, string? TimescaleVersion, IReadOnlyList<string> Applied);

/// <summary>
/// Applies the embedded SQL migrations in order, once each, under an advisory lock so replicas
/// starting together do not race. <c>NNN_name.sql</c> always runs; <c>NNN_name.timescale.sql</c>
/// runs after it, in the same transaction, when the timescaledb extension is available.
/// </summary>
public sealed class Migrator(NpgsqlDataSource dataSource)
{
    private const long LockKey = 0x5E_4503_9171; // "SensorPipeline migrations"

    /// <summary>
    /// <paramref name="requestedMode"/>: null to detect (TimescaleDB when the extension can be
    /// created), or a mode to insist on.
    /// </summary>
    public async Task<MigrationResult> MigrateAsync(DatabaseMode? requestedMode, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, $"select pg_advisory_lock({LockKey})", cancellationToken);
        try
        {
            var (mode, version) = await DetectModeAsync(connection, requestedMode, cancellationToken);
            await ExecuteAsync(connection, """
                create table if not exists schema_migrations (
                    id         text primary key,
                    mode       text not null,
                    applied_at timestamptz not null default now())
                """, cancellationToken);
            var done = new HashSet<string>(StringComparer.Ordinal);
            await using (var command = new NpgsqlCommand("select id from schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    done.Add(reader.GetString(0));
                }
            }

            var applied = new List<string>();
            foreach (var migration in Migrations())
            {
                if (done.Contains(migration.Id))
                {
                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, migration.Sql, cancellationToken);
                if (mode == DatabaseMode.TimescaleDb && migration.TimescaleSql is not null)
                {
                    await ExecuteAsync(connection, migration.TimescaleSql, cancellationToken);
                }

                await using (var record = new NpgsqlCommand("insert into schema_migrations (id, mode) values ($1, $2)", connection))
                {
                    record.Parameters.Add(new NpgsqlParameter { Value = migration.Id });
                    record.Parameters.Add(new NpgsqlParameter { Value = mode.ToString() });
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                applied.Add(migration.Id);
            }

            return new MigrationResult(mode, version, applied);
        }
        finally
        {
            // A broken connection releases the lock by itself; do not hide the original error.
            if (connection.FullState == System.Data.ConnectionState.Open)
            {
                await ExecuteAsync(connection, $"select pg_advisory_unlock({LockKey})", CancellationToken.None);
            }
        }
    }

    /// <summary>The migrations shipped in this assembly, in order.</summary>
    public static IReadOnlyList<Migration> Migrations()
    {
        var assembly = typeof(Migrator).Assembly;
        var names = assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)).ToList();
        return names
            .Where(n => !n.EndsWith(".timescale.sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var id = IdOf(n, ".sql");
                var timescale = names.FirstOrDefault(t => t.EndsWith(".timescale.sql", StringComparison.Ordinal) && IdOf(t, ".timescale.sql") == id);
                return new Migration(id, Read(assembly, n), timescale is null ? null : Read(assembly, timescale));
            })
            .OrderBy(m => m.Id, StringComparer.Ordinal)
            .ToList();
    }

    private static async Task<(DatabaseMode Mode, string? Version)> DetectModeAsync(NpgsqlConnection connection, DatabaseMode? requested, CancellationToken cancellationToken)
    {
        if (requested == DatabaseMode.Plain)
        {
            return (DatabaseMode.Plain, null);
        }

        await using (var available = new NpgsqlCommand("select default_version from pg_available_extensions where name = 'timescaledb'", connection))
        {
            if (await available.ExecuteScalarAsync(cancellationToken) is null)
            {
                return requested == DatabaseMode.TimescaleDb
                    ? throw new InvalidOperationException("DatabaseMode is TimescaleDb, but the timescaledb extension is not available on this server.")
                    : (DatabaseMode.Plain, null);
            }
        }

        await ExecuteAsync(connection, "create extension if not exists timescaledb", cancellationToken);
        await using var installed = new NpgsqlCommand("select extversion from pg_extension where extname = 'timescaledb'", connection);
        return (DatabaseMode.TimescaleDb, (string?)await installed.ExecuteScalarAsync(cancellationToken));
    }

    private static string IdOf(string resource, string suffix)
    {
        var withoutSuffix = resource[..^suffix.Length];
        return withoutSuffix[(withoutSuffix.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..];
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>One migration: its id (file name), SQL, and the TimescaleDB part if any.</summary>
public sealed record Migration(string Id, string Sql, string? TimescaleSql);
