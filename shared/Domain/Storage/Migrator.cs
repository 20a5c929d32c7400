using System.Reflection;
using Npgsql;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// Applies the embedded SQL migrations in order, once each, under an advisory lock so replicas
/// starting together do not race. <c>NNN_name.sql</c> always runs; <c>NNN_name.timescale.sql</c>
/// runs after it when the timescaledb extension is available. Both run in one transaction, unless
/// a file's first line is <c>-- migrate: no-transaction</c>: then that file runs statement by
/// statement outside a transaction (its statements must be idempotent, since a crash half-way
/// runs it again), and the migration is recorded after its last statement. A migration applied in
/// plain mode gets its TimescaleDB part when the database later has the extension. In TimescaleDB
/// mode, <c>policies.timescale.sql</c> then brings the policies in line with
/// <see cref="TimescaleSettings"/> on every run. Placeholders (<c>{{chunk_interval}}</c>) are
/// filled from the settings.
/// </summary>
public sealed class Migrator
{
    private const long LockKey = 0x5E_4503_9171; // "SensorPipeline migrations"
    private const string PoliciesResource = "policies.timescale.sql";

    private readonly NpgsqlDataSource _dataSource;
    private readonly IReadOnlyDictionary<string, string> _placeholders;
    private readonly IReadOnlyList<Migration> _migrations;

    /// <summary>A migrator with the given TimescaleDB settings (validated here), or the defaults.</summary>
    public Migrator(NpgsqlDataSource dataSource, TimescaleSettings? settings = null)
        : this(dataSource, settings, Migrations())
    {
    }

    /// <summary>A migrator of other migrations than the shipped ones (tests).</summary>
    internal Migrator(NpgsqlDataSource dataSource, TimescaleSettings? settings, IReadOnlyList<Migration> migrations)
    {
        _dataSource = dataSource;
        _placeholders = (settings ?? TimescaleSettings.Default).Placeholders();
        _migrations = migrations;
    }

    /// <summary>
    /// <paramref name="requestedMode"/>: null to detect (TimescaleDB when the extension can be
    /// created), or a mode to insist on.
    /// </summary>
    public async Task<MigrationResult> MigrateAsync(DatabaseMode? requestedMode, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
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
            var done = new Dictionary<string, string>(StringComparer.Ordinal);
            await using (var command = new NpgsqlCommand("select id, mode from schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    done.Add(reader.GetString(0), reader.GetString(1));
                }
            }

            var timescale = mode == DatabaseMode.TimescaleDb;
            var applied = new List<string>();
            foreach (var migration in _migrations)
            {
                if (!done.TryGetValue(migration.Id, out var recordedMode))
                {
                    List<string> parts = timescale && migration.TimescaleSql is not null ? [migration.Sql, migration.TimescaleSql] : [migration.Sql];
                    await ApplyAsync(connection, migration.Id, mode, parts, cancellationToken);
                    applied.Add(migration.Id);
                }
                else if (timescale && migration.TimescaleSql is not null && recordedMode == nameof(DatabaseMode.Plain))
                {
                    // Applied while the database was plain; the extension is here now.
                    await ApplyAsync(connection, migration.Id, mode, [migration.TimescaleSql], cancellationToken);
                    applied.Add(migration.Id + " (TimescaleDB part)");
                }
            }

            if (timescale)
            {
                await ApplyAsync(connection, null, mode, [PoliciesSql()], cancellationToken);
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

    /// <summary>
    /// Runs the parts of one migration and records it (<paramref name="id"/> null: not recorded).
    /// All in one transaction when no part is marked no-transaction; otherwise each part on its
    /// own (a marked part statement by statement), and the record last.
    /// </summary>
    private async Task ApplyAsync(NpgsqlConnection connection, string? id, DatabaseMode mode, IReadOnlyList<string> parts, CancellationToken cancellationToken)
    {
        var scripts = parts.Select(p => SqlScript.Substitute(p, _placeholders)).ToList();
        if (!scripts.Any(SqlScript.IsNoTransaction))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var script in scripts)
            {
                await ExecuteAsync(connection, script, cancellationToken);
            }

            await RecordAsync(connection, id, mode, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return;
        }

        foreach (var script in scripts)
        {
            if (SqlScript.IsNoTransaction(script))
            {
                foreach (var statement in SqlScript.Split(script))
                {
                    await ExecuteAsync(connection, statement, cancellationToken);
                }
            }
            else
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, script, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
        }

        await RecordAsync(connection, id, mode, cancellationToken);
    }

    private static async Task RecordAsync(NpgsqlConnection connection, string? id, DatabaseMode mode, CancellationToken cancellationToken)
    {
        if (id is null)
        {
            return;
        }

        await using var record = new NpgsqlCommand("""
            insert into schema_migrations (id, mode) values ($1, $2)
            on conflict (id) do update set mode = excluded.mode, applied_at = now()
            """, connection);
        record.Parameters.Add(new NpgsqlParameter { Value = id });
        record.Parameters.Add(new NpgsqlParameter { Value = mode.ToString() });
        await record.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The migrations shipped in this assembly, in order.</summary>
    public static IReadOnlyList<Migration> Migrations()
    {
        var assembly = typeof(Migrator).Assembly;
        var names = assembly.GetManifestResourceNames()
            .Where(n => n.EndsWith(".sql", StringComparison.Ordinal) && char.IsAsciiDigit(n[(n.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..][0]))
            .ToList();
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

        // Installed is not enough: the server must also preload the library (shared_preload_libraries),
        // or CREATE EXTENSION fails. Its loader defines timescaledb.max_background_workers when preloaded.
        await using (var available = new NpgsqlCommand("""
            select exists (select 1 from pg_settings where name = 'timescaledb.max_background_workers')
              from pg_available_extensions where name = 'timescaledb'
            """, connection))
        {
            var preloaded = await available.ExecuteScalarAsync(cancellationToken) as bool?;
            if (preloaded != true)
            {
                return requested == DatabaseMode.TimescaleDb
                    ? throw new InvalidOperationException(preloaded is null
                        ? "DatabaseMode is TimescaleDb, but the timescaledb extension is not available on this server."
                        : "DatabaseMode is TimescaleDb, but the server does not preload timescaledb (add it to shared_preload_libraries and restart).")
                    : (DatabaseMode.Plain, null);
            }
        }

        await ExecuteAsync(connection, "create extension if not exists timescaledb", cancellationToken);
        await using var installed = new NpgsqlCommand("select extversion from pg_extension where extname = 'timescaledb'", connection);
        return (DatabaseMode.TimescaleDb, (string?)await installed.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>The TimescaleDB policies script run after the migrations (not a numbered migration).</summary>
    public static string PoliciesSql() => Read(typeof(Migrator).Assembly, ResourcePrefix() + PoliciesResource);

    private static string ResourcePrefix() => typeof(Migrator).Assembly.GetName().Name + ".Migrations.";

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
        // No command timeout: a migration may move or materialize a lot of rows; cancellation stops it.
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
