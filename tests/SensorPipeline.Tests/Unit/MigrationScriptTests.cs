using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Tests.Unit;

/// <summary>How the Migrator reads a migration file: the no-transaction marker, statements, placeholders, settings.</summary>
public sealed class MigrationScriptTests
{
    [Fact]
    public void No_transaction_marker_counts_only_on_the_first_line()
    {
        Assert.True(SqlScript.IsNoTransaction("-- migrate: no-transaction\nselect 1;"));
        Assert.True(SqlScript.IsNoTransaction("-- migrate: no-transaction  \r\nselect 1;"));
        Assert.True(SqlScript.IsNoTransaction("-- migrate: no-transaction"));
        Assert.False(SqlScript.IsNoTransaction("select 1;\n-- migrate: no-transaction\n"));
        Assert.False(SqlScript.IsNoTransaction("-- migrate: no-transactions\nselect 1;"));
        Assert.False(SqlScript.IsNoTransaction(""));
    }

    [Fact]
    public void Split_cuts_at_top_level_semicolons_only()
    {
        const string Sql = """
            -- migrate: no-transaction
            -- header; with a semicolon
            create table t (a text);  /* block; /* nested; */ still comment; */
            insert into t values ('it''s; fine'), (E'back\'slash;'), ($$dollar;$$), ($tag$ $$ ; $tag$);
            select "odd;name" from t;
            do $fn$ begin perform 1; perform 2; end $fn$;
            prepare p as select $1::int; select a$b from t;
            -- trailing comment only;
            """;
        var statements = SqlScript.Split(Sql);
        Assert.Equal(6, statements.Count); // the comment-only tail is dropped
        Assert.StartsWith("-- migrate: no-transaction", statements[0], StringComparison.Ordinal);
        Assert.EndsWith("create table t (a text)", statements[0], StringComparison.Ordinal);
        Assert.StartsWith("/* block; /* nested; */ still comment; */\ninsert into t values ('it''s; fine'), (E'back\\'slash;'), ($$dollar;$$), ($tag$ $$ ; $tag$)", statements[1], StringComparison.Ordinal);
        Assert.Equal("select \"odd;name\" from t", statements[2]);
        Assert.Equal("do $fn$ begin perform 1; perform 2; end $fn$", statements[3]);
        Assert.Equal("prepare p as select $1::int", statements[4]);
        Assert.Equal("select a$b from t", statements[5]);
    }

    [Fact]
    public void Split_drops_comment_only_pieces_and_keeps_a_last_statement_without_semicolon()
    {
        Assert.Equal(["select 1", "-- c\nselect 2"], SqlScript.Split("select 1;\n-- c\nselect 2"));
        Assert.Empty(SqlScript.Split("-- nothing;\n/* here; */\n ;;"));
    }

    [Theory]
    [InlineData("select 'open")]
    [InlineData("select \"open")]
    [InlineData("do $x$ begin end $y$;")]
    [InlineData("/* open /* nested */")]
    public void Split_refuses_unterminated_literals(string sql) =>
        Assert.Throws<FormatException>(() => SqlScript.Split(sql));

    [Fact]
    public void Substitute_fills_known_placeholders_and_refuses_anything_left()
    {
        var values = new Dictionary<string, string> { ["chunk_interval"] = "interval '1 days'" };
        Assert.Equal("select f(interval '1 days'), interval '1 days'", SqlScript.Substitute("select f({{chunk_interval}}), {{chunk_interval}}", values));
        Assert.Throws<InvalidOperationException>(() => SqlScript.Substitute("select {{unknown}}", values));
        Assert.Throws<InvalidOperationException>(() => SqlScript.Substitute("select {{Chunk-Interval}}", values));
        Assert.Throws<InvalidOperationException>(() => SqlScript.Substitute("select {{chunk_interval}", values));
        Assert.Equal("select 1", SqlScript.Substitute("select 1", values));
    }

    [Fact]
    public void Every_shipped_script_substitutes_completely_with_the_settings()
    {
        var scripts = Migrator.Migrations().SelectMany(m => new[] { m.Sql, m.TimescaleSql }).OfType<string>().Append(Migrator.PoliciesSql()).ToList();
        var known = TimescaleSettings.Default.Placeholders();
        foreach (var script in scripts)
        {
            Assert.Subset(known.Keys.ToHashSet(), SqlScript.PlaceholderNames(script).ToHashSet());
            Assert.DoesNotContain("{{", SqlScript.Substitute(script, known), StringComparison.Ordinal);
        }

        // The TimescaleDB scripts use every setting.
        var used = scripts.SelectMany(SqlScript.PlaceholderNames).ToHashSet();
        Assert.Equal(known.Keys.Order(), used.Order());
    }

    [Fact]
    public void Settings_become_interval_literals_and_zero_means_off()
    {
        var placeholders = TimescaleSettings.Default.Placeholders();
        Assert.Equal("interval '1 days'", placeholders["chunk_interval"]);
        Assert.Equal("interval '7 days'", placeholders["compress_after"]);
        Assert.Equal("null::interval", placeholders["raw_retention"]);
        Assert.Equal("null::interval", placeholders["rollup_retention"]);
        Assert.Equal("interval '30 days'", placeholders["payload_retention"]);
        Assert.Equal("null::interval", new TimescaleSettings { PayloadRetention = TimeSpan.Zero }.Placeholders()["payload_retention"]);

        var custom = new TimescaleSettings
        {
            ChunkInterval = TimeSpan.FromHours(6),
            CompressAfter = TimeSpan.FromMinutes(90),
            RawRetention = TimeSpan.FromSeconds(86_401),
            RollupRetention = TimeSpan.FromDays(400),
        }.Placeholders();
        Assert.Equal("interval '6 hours'", custom["chunk_interval"]);
        Assert.Equal("interval '90 minutes'", custom["compress_after"]);
        Assert.Equal("interval '86401 seconds'", custom["raw_retention"]);
        Assert.Equal("interval '400 days'", custom["rollup_retention"]);
    }

    [Theory]
    [InlineData("TimescaleChunkInterval", "00:00:00")]
    [InlineData("TimescaleChunkInterval", "00:30:00")]
    [InlineData("TimescaleChunkInterval", "1.00:00:00.5")]
    [InlineData("TimescaleCompressAfter", "-1.00:00:00")]
    [InlineData("TimescaleRawRetention", "01:00:00")]
    [InlineData("TimescaleRollupRetention", "2.00:00:00")]
    [InlineData("PayloadRetention", "00:30:00")]
    public void Settings_out_of_range_are_refused_naming_the_setting(string setting, string value)
    {
        var span = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        var settings = setting switch
        {
            "TimescaleChunkInterval" => new TimescaleSettings { ChunkInterval = span },
            "TimescaleCompressAfter" => new TimescaleSettings { CompressAfter = span },
            "TimescaleRawRetention" => new TimescaleSettings { RawRetention = span },
            "PayloadRetention" => new TimescaleSettings { PayloadRetention = span },
            _ => new TimescaleSettings { RollupRetention = span },
        };
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.Equal(setting, error.ParamName);
        Assert.Throws<ArgumentException>(() => settings.Placeholders());
    }

    [Fact]
    public void Refresh_range_widens_to_whole_utc_buckets()
    {
        var hour = TimeSpan.FromHours(1);
        var day = TimeSpan.FromDays(1);
        var from = new DateTimeOffset(2026, 3, 29, 1, 30, 0, TimeSpan.FromHours(2)); // 23:30 UTC the day before
        var to = new DateTimeOffset(2026, 3, 29, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal((new DateTimeOffset(2026, 3, 28, 23, 0, 0, TimeSpan.Zero), to), RollupRefresher.Widen(from, to, hour));
        Assert.Equal((new DateTimeOffset(2026, 3, 28, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 30, 0, 0, 0, TimeSpan.Zero)), RollupRefresher.Widen(from, to, day));
        // An empty range at a boundary still covers the bucket it names.
        Assert.Equal((to, to + hour), RollupRefresher.Widen(to, to, hour));
        // Before the epoch, too.
        var old = new DateTimeOffset(1969, 12, 31, 12, 34, 0, TimeSpan.Zero);
        Assert.Equal((new DateTimeOffset(1969, 12, 31, 0, 0, 0, TimeSpan.Zero), DateTimeOffset.UnixEpoch), RollupRefresher.Widen(old, old.AddMinutes(1), day));
    }
}
