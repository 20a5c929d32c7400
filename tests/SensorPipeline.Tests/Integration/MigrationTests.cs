using System.Globalization;
using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// The migrations on a real PostgreSQL in plain mode (the mode the tests run in): idempotence, the
/// upgrade from a database that has only 001, the rollup views against an independent computation,
/// no-transaction migrations, and a parse check of the TimescaleDB files. Each test gets its own
/// fresh database.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class MigrationTests(TestServers servers)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private async Task<NpgsqlDataSource> FreshDatabaseAsync() =>
        NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("migration"));

    private static async Task<long> ScalarAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(None), CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(None);
    }

    [Fact]
    public async Task Migrations_apply_twice_idempotently_in_plain_mode()
    {
        await using var db = await FreshDatabaseAsync();
        var first = await new Migrator(db).MigrateAsync(DatabaseMode.Plain, None);
        Assert.Equal(DatabaseMode.Plain, first.Mode);
        Assert.Null(first.TimescaleVersion);
        Assert.Equal(Migrator.Migrations().Select(m => m.Id), first.Applied);
        Assert.Contains("003_rollups", first.Applied);

        var second = await new Migrator(db).MigrateAsync(DatabaseMode.Plain, None);
        Assert.Empty(second.Applied);
        Assert.Equal(Migrator.Migrations().Count, await ScalarAsync(db, "select count(*) from schema_migrations where mode = 'Plain'"));
        // The rollups are ordinary views with exactly the agreed columns and types.
        foreach (var view in new[] { "calibrated_hourly", "calibrated_daily" })
        {
            Assert.Equal(1, await ScalarAsync(db, $"select count(*) from pg_views where schemaname = current_schema() and viewname = '{view}'"));
            await using var command = db.CreateCommand($"""
                select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position)
                  from information_schema.columns where table_schema = current_schema() and table_name = '{view}'
                """);
            Assert.Equal(
                "sensor_id text, bucket timestamp with time zone, readings bigint, min_value double precision, max_value double precision, avg_value double precision",
                (string?)await command.ExecuteScalarAsync(None));
        }

        // Plain mode: the views are always current, so a recalibration has nothing to refresh.
        Assert.False(await new RollupRefresher(db).RefreshRollupsAsync(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow, None));

        // Running 003's plain file again (as after a crash in its TimescaleDB part) changes nothing.
        await ExecuteAsync(db, Migrator.Migrations().Single(m => m.Id == "003_rollups").Sql);
        Assert.Equal(2, await ScalarAsync(db, "select count(*) from pg_views where viewname in ('calibrated_hourly', 'calibrated_daily')"));
    }

    [Fact]
    public async Task Upgrade_from_a_database_with_only_001_keeps_every_row()
    {
        await using var db = await FreshDatabaseAsync();
        // The previous schema, applied by hand as the previous Migrator did.
        var core = Migrator.Migrations()[0];
        Assert.Equal("001_core", core.Id);
        await ExecuteAsync(db, core.Sql);
        await ExecuteAsync(db, """
            create table schema_migrations (id text primary key, mode text not null, applied_at timestamptz not null default now());
            insert into schema_migrations (id, mode) values ('001_core', 'Plain');
            insert into raw_data (sensor_id, recorded_at, raw_value, source)
            select 's' || (i % 5), timestamptz '2026-05-01 00:00:00+00' + i * interval '1 minute', i, 'test'
              from generate_series(1, 3000) i;
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version)
            select id, recorded_at, sensor_id, raw_value * 2, 1 from raw_data where id % 3 <> 0;
            insert into calibration (sensor_id, version, valid_from, gain, "offset") values ('s1', 1, '2026-01-01', 2, 0);
            """);
        var raw = await ScalarAsync(db, "select count(*) from raw_data");
        var calibrated = await ScalarAsync(db, "select count(*) from calibrated_temperature");
        var checksum = await ScalarAsync(db, "select sum(hashtext(sensor_id || recorded_at::text || value::text)) from calibrated_temperature");

        var result = await new Migrator(db).MigrateAsync(DatabaseMode.Plain, None);
        Assert.DoesNotContain("001_core", result.Applied);
        Assert.Contains("003_rollups", result.Applied);
        Assert.Equal(Migrator.Migrations().Skip(1).Select(m => m.Id), result.Applied);

        Assert.Equal(3000, raw);
        Assert.Equal(raw, await ScalarAsync(db, "select count(*) from raw_data"));
        Assert.Equal(calibrated, await ScalarAsync(db, "select count(*) from calibrated_temperature"));
        Assert.Equal(checksum, await ScalarAsync(db, "select sum(hashtext(sensor_id || recorded_at::text || value::text)) from calibrated_temperature"));
        Assert.Equal(calibrated, await ScalarAsync(db, "select sum(readings) from calibrated_hourly"));
        Assert.Equal(calibrated, await ScalarAsync(db, "select sum(readings) from calibrated_daily"));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from calibration"));

        // New writes still work after the upgrade, and a second run applies nothing.
        await ExecuteAsync(db, "insert into raw_data (sensor_id, recorded_at, raw_value) values ('s9', '2026-05-03', 1)");
        Assert.Empty((await new Migrator(db).MigrateAsync(DatabaseMode.Plain, None)).Applied);
        Assert.Equal(raw + 1, await ScalarAsync(db, "select count(*) from raw_data"));
    }

    [Fact]
    public async Task Upgrade_to_the_payload_ledger_keeps_readings_in_Celsius_without_a_payload_and_the_ledger_retention_deletes_in_batches()
    {
        await using var db = await FreshDatabaseAsync();
        var before = new Migrator(db, null, Migrator.Migrations().Where(m => string.CompareOrdinal(m.Id, "007") < 0).ToList());
        await before.MigrateAsync(null, None);
        await ExecuteAsync(db, "insert into raw_data (sensor_id, recorded_at, raw_value) select 'old', timestamptz '2026-05-01' + i * interval '1 minute', i from generate_series(1, 100) i");

        var result = await new Migrator(db, null, Migrator.Migrations().Where(m => string.CompareOrdinal(m.Id, "008") < 0).ToList()).MigrateAsync(null, None);
        Assert.Equal(["007_payloads"], result.Applied);

        // Rows of before the ledger: in Celsius, no payload; the view converts every unit.
        Assert.Equal(100, await ScalarAsync(db, "select count(*) from raw_data where unit = 'degC' and payload_id is null"));
        Assert.Equal(5050, await ScalarAsync(db, "select sum(celsius)::bigint from raw_data_celsius"));
        Assert.Equal(22, await ScalarAsync(db, "select round(reading_celsius(7135, 'cdegF'))::bigint"));
        Assert.Equal(-2, await ScalarAsync(db, "select reading_celsius(-200, 'cdegC')::bigint"));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from (select reading_celsius(1, 'furlongs') as c) x where c is null"));

        // Retention: old ledger rows go in bounded batches, new ones stay.
        await ExecuteAsync(db, """
            insert into payload (id, received_at, door, size_bytes, accepted)
            select gen_random_uuid(), now() - interval '40 days' - i * interval '1 second', 'http', 10, false from generate_series(1, 25) i;
            insert into payload (id, received_at, door, size_bytes, accepted) values (gen_random_uuid(), now(), 'http', 10, true);
            insert into ingest_error (payload_id, received_at, door, reason, status, errors)
            select id, received_at, door, 'invalid', 400, '[]' from payload where not accepted;
            """);
        var ledger = new PayloadLedgerStore(db);
        var cutoff = DateTimeOffset.UtcNow.AddDays(-30);
        // Each call: at most 10 errors and 10 payloads.
        Assert.Equal(20, await ledger.DeleteOlderThanAsync(cutoff, 10, payloads: true, None));
        Assert.Equal(20, await ledger.DeleteOlderThanAsync(cutoff, 10, payloads: true, None));
        Assert.Equal(10, await ledger.DeleteOlderThanAsync(cutoff, 10, payloads: true, None));
        Assert.Equal(0, await ledger.DeleteOlderThanAsync(cutoff, 10, payloads: true, None));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from payload"));
        Assert.Equal(0, await ScalarAsync(db, "select count(*) from ingest_error"));
    }

    [Fact]
    public async Task Rollup_views_match_an_independent_computation_in_utc_whatever_the_session_time_zone()
    {
        await using var db = await FreshDatabaseAsync();
        await new Migrator(db).MigrateAsync(null, None);

        // Readings every 7 minutes for two days across UTC midnight, for three sensors, with values
        // that make min/max/avg distinguishable; computed here in C#, not with SQL.
        var t0 = new DateTimeOffset(2026, 3, 28, 20, 0, 0, TimeSpan.Zero);
        var rows = new List<(long Id, string Sensor, DateTimeOffset At, double Value)>();
        for (var i = 0; i < 2 * 24 * 60 / 7; i++)
        {
            foreach (var sensor in new[] { "a", "b", "c" })
            {
                rows.Add((rows.Count + 1, sensor, t0.AddMinutes(7 * i), Math.Round(Math.Sin(i * 0.37 + sensor[0]) * 40 + i % 13, 3)));
            }
        }

        await using (var insert = db.CreateCommand("""
            insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version)
            select * , 1 from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[])
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Id).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.At.UtcDateTime).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Sensor).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Value).ToArray() });
            await insert.ExecuteNonQueryAsync(None);
        }

        foreach (var (view, bucket) in new[] { ("calibrated_hourly", TimeSpan.FromHours(1)), ("calibrated_daily", TimeSpan.FromDays(1)) })
        {
            var expected = rows
                .GroupBy(r => (r.Sensor, Bucket: new DateTimeOffset(r.At.UtcTicks - r.At.UtcTicks % bucket.Ticks, TimeSpan.Zero)))
                .OrderBy(g => g.Key.Sensor, StringComparer.Ordinal).ThenBy(g => g.Key.Bucket)
                .Select(g => (g.Key.Sensor, g.Key.Bucket, (long)g.Count(), g.Min(r => r.Value), g.Max(r => r.Value), g.Average(r => r.Value)))
                .ToList();

            // A session in a time zone with a DST change in the range: buckets must stay UTC.
            await using var connection = await db.OpenConnectionAsync(None);
            await using (var tz = new NpgsqlCommand("set time zone 'Europe/Berlin'", connection))
            {
                await tz.ExecuteNonQueryAsync(None);
            }

            await using var query = new NpgsqlCommand($"select sensor_id, bucket, readings, min_value, max_value, avg_value from {view} order by sensor_id collate \"C\", bucket", connection);
            await using var reader = await query.ExecuteReaderAsync(None);
            var actual = new List<(string, DateTimeOffset, long, double, double, double)>();
            while (await reader.ReadAsync(None))
            {
                actual.Add((reader.GetString(0), new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero), reader.GetInt64(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5)));
            }

            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                var (es, eb, ec, emin, emax, eavg) = expected[i];
                var (s, b, c, min, max, avg) = actual[i];
                Assert.Equal((es, eb, ec, emin, emax), (s, b, c, min, max));
                Assert.Equal(eavg, avg, 9);
            }

            Assert.Equal(view == "calibrated_daily" ? 3 * 3 : 3 * 48, actual.Count);
        }
    }

    [Fact]
    public async Task A_no_transaction_migration_runs_statement_by_statement_and_is_recorded_after_the_last()
    {
        await using var db = await FreshDatabaseAsync();
        await new Migrator(db).MigrateAsync(null, None);

        // CREATE INDEX CONCURRENTLY fails inside a transaction block (and inside a multi-statement
        // command, which PostgreSQL runs as one implicit transaction): it only works if the
        // Migrator really runs each statement on its own.
        const string Good = """
            -- migrate: no-transaction
            create table if not exists nt_probe (id int primary key, note text);
            -- a semicolon in a literal; and in a comment;
            insert into nt_probe values (1, 'a;b') on conflict do nothing;
            create index concurrently if not exists nt_probe_note_idx on nt_probe (note);
            do $body$ begin
                if not exists (select 1 from nt_probe where id = 2) then
                    insert into nt_probe values (2, $$x;y$$);
                end if;
            end $body$;
            """;
        // Same file with a failing statement after the first two: nothing is recorded, what ran stays.
        var failing = Good.Replace("create index concurrently", "select 1 / 0; create index concurrently", StringComparison.Ordinal);

        var brokenPlain = new Migrator(db, null, [new Migration("900_probe", failing, null)]);
        var error = await Assert.ThrowsAsync<PostgresException>(() => brokenPlain.MigrateAsync(null, None));
        Assert.Equal(PostgresErrorCodes.DivisionByZero, error.SqlState);
        Assert.Equal(0, await ScalarAsync(db, "select count(*) from schema_migrations where id = '900_probe'"));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from nt_probe")); // autocommitted before the failure

        // Fixed and re-run: every statement is idempotent, so it completes and is recorded once.
        var result = await new Migrator(db, null, [new Migration("900_probe", Good, null)]).MigrateAsync(null, None);
        Assert.Equal(["900_probe"], result.Applied);
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from schema_migrations where id = '900_probe'"));
        Assert.Equal(2, await ScalarAsync(db, "select count(*) from nt_probe"));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from nt_probe where note = 'a;b'"));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from nt_probe where note = 'x;y'"));
        Assert.Equal(1, await ScalarAsync(db, "select count(*) from pg_indexes where indexname = 'nt_probe_note_idx'"));
        Assert.Empty((await new Migrator(db, null, [new Migration("900_probe", Good, null)]).MigrateAsync(null, None)).Applied);

        // The same script without the marker runs in one transaction: CONCURRENTLY refuses.
        var transactional = new Migrator(db, null, [new Migration("901_probe", Good[Good.IndexOf('\n', StringComparison.Ordinal)..], null)]);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => transactional.MigrateAsync(null, None));
        Assert.Equal(PostgresErrorCodes.ActiveSqlTransaction, refused.SqlState);
    }

    [Fact]
    public async Task TimescaleDB_files_parse_on_plain_PostgreSQL_and_fail_only_for_missing_TimescaleDB_objects()
    {
        // Without TimescaleDB the statements cannot run, but each one must get past PostgreSQL's
        // parser (PL/pgSQL bodies included: they are compiled before they run); the only errors
        // allowed are those of a server without the extension.
        await using var db = await FreshDatabaseAsync();
        await new Migrator(db).MigrateAsync(DatabaseMode.Plain, None);
        var missingTimescale = new HashSet<string>
        {
            PostgresErrorCodes.UndefinedFunction,      // time_bucket, add_*_policy, create_hypertable
            PostgresErrorCodes.UndefinedTable,         // timescaledb_information.*
            PostgresErrorCodes.InvalidParameterValue,  // unrecognized parameter namespace "timescaledb"
            PostgresErrorCodes.InvalidSchemaName,
        };
        var scripts = Migrator.Migrations().Where(m => m.TimescaleSql is not null).Select(m => (m.Id + ".timescale.sql", m.TimescaleSql!))
            .Append(("policies.timescale.sql", Migrator.PoliciesSql()))
            .ToList();
        Assert.Contains(scripts, s => s.Item1 == "003_rollups.timescale.sql");
        Assert.Contains(scripts, s => s.Item1 == "007_payloads.timescale.sql");
        var placeholders = TimescaleSettings.Default.Placeholders();
        var checkedStatements = 0;
        await using var connection = await db.OpenConnectionAsync(None);
        foreach (var (name, sql) in scripts)
        {
            var substituted = SqlScript.Substitute(sql, placeholders);
            Assert.DoesNotContain("{{", substituted, StringComparison.Ordinal);
            foreach (var statement in SqlScript.Split(substituted))
            {
                await using var transaction = await connection.BeginTransactionAsync(None);
                await using var command = new NpgsqlCommand(statement, connection, transaction);
                var error = await Record.ExceptionAsync(() => command.ExecuteNonQueryAsync(None));
                await transaction.RollbackAsync(None);
                if (error is not null)
                {
                    var sqlState = Assert.IsType<PostgresException>(error).SqlState;
                    Assert.True(missingTimescale.Contains(sqlState), $"{name}: {error.Message} ({sqlState}) in:\n{statement}");
                }

                checkedStatements++;
            }
        }

        Assert.True(checkedStatements >= 10, $"only {checkedStatements} statements checked");
        // The continuous aggregates are top-level statements of a no-transaction file, as TimescaleDB requires.
        var rollups = Migrator.Migrations().Single(m => m.Id == "003_rollups").TimescaleSql!;
        Assert.True(SqlScript.IsNoTransaction(rollups));
        var continuous = SqlScript.Split(rollups)
            .Select(s => string.Join('\n', s.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim())
            .Where(s => s.Contains("timescaledb.continuous", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(2, continuous.Count);
        Assert.All(continuous, s => Assert.StartsWith("create materialized view if not exists calibrated_", s, StringComparison.Ordinal));
    }
}
