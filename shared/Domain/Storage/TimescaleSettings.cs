using System.Globalization;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// The TimescaleDB tunables (settings <c>TimescaleChunkInterval</c>, <c>TimescaleCompressAfter</c>,
/// <c>TimescaleRawRetention</c>, <c>TimescaleRollupRetention</c>). The migrations reach them only
/// as SQL literals this type formats itself from validated <see cref="TimeSpan"/>s, never as text
/// from configuration. <see cref="TimeSpan.Zero"/> switches a policy off. See docs/TIMESCALEDB.md.
/// </summary>
public sealed record TimescaleSettings
{
    /// <summary>The refresh policies re-materialize this much history (003_rollups.timescale.sql).</summary>
    internal static readonly TimeSpan RefreshWindow = TimeSpan.FromDays(3);

    /// <summary>
    /// Time range of one chunk of <c>raw_data</c> and <c>calibrated_temperature</c>. Default 1 day:
    /// a few hundred sensors at one reading a second make about 26 million rows a day per table.
    /// </summary>
    public TimeSpan ChunkInterval { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Chunks older than this move to the columnstore (compressed). Default 7 days; zero: never.</summary>
    public TimeSpan CompressAfter { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Raw chunks older than this are dropped. Default zero: never (raw is what recalibration needs).</summary>
    public TimeSpan RawRetention { get; init; } = TimeSpan.Zero;

    /// <summary>Materialized hourly and daily rollups older than this are dropped. Default zero: never.</summary>
    public TimeSpan RollupRetention { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// The payload ledger (and the ingest-error ledger) keeps this much (setting <c>PayloadRetention</c>,
    /// both modes: a retention policy on TimescaleDB, the PayloadLedgerRetention timer on plain
    /// PostgreSQL). Default 30 days; zero: kept for ever.
    /// </summary>
    public TimeSpan PayloadRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>The defaults.</summary>
    public static TimescaleSettings Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting when a value is out of range.</summary>
    public void Validate()
    {
        Check(ChunkInterval, "TimescaleChunkInterval", TimeSpan.FromHours(1), TimeSpan.FromDays(366), allowOff: false);
        Check(CompressAfter, "TimescaleCompressAfter", TimeSpan.FromHours(1), TimeSpan.FromDays(36_600), allowOff: true);
        Check(RawRetention, "TimescaleRawRetention", TimeSpan.FromDays(1), TimeSpan.FromDays(36_600), allowOff: true);
        // Longer than the refresh window, or a refresh policy would re-materialize dropped buckets.
        Check(PayloadRetention, "PayloadRetention", TimeSpan.FromHours(1), TimeSpan.FromDays(36_600), allowOff: true);
        Check(RollupRetention, "TimescaleRollupRetention", RefreshWindow + TimeSpan.FromDays(1), TimeSpan.FromDays(36_600), allowOff: true);
    }

    /// <summary>The placeholder values for the migration scripts, as SQL literals.</summary>
    public IReadOnlyDictionary<string, string> Placeholders()
    {
        Validate();
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["chunk_interval"] = IntervalLiteral(ChunkInterval),
            ["compress_after"] = IntervalLiteral(CompressAfter),
            ["raw_retention"] = IntervalLiteral(RawRetention),
            ["rollup_retention"] = IntervalLiteral(RollupRetention),
            ["payload_retention"] = IntervalLiteral(PayloadRetention),
        };
    }

    /// <summary><c>interval '7 days'</c>-style literal of a whole number of seconds; zero is <c>null::interval</c> (off).</summary>
    internal static string IntervalLiteral(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "null::interval";
        }

        if (value < TimeSpan.Zero || value.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "An interval must be a positive whole number of seconds.");
        }

        var (amount, unit) = value.Ticks switch
        {
            var t when t % TimeSpan.TicksPerDay == 0 => (t / TimeSpan.TicksPerDay, "days"),
            var t when t % TimeSpan.TicksPerHour == 0 => (t / TimeSpan.TicksPerHour, "hours"),
            var t when t % TimeSpan.TicksPerMinute == 0 => (t / TimeSpan.TicksPerMinute, "minutes"),
            var t => (t / TimeSpan.TicksPerSecond, "seconds"),
        };
        return string.Create(CultureInfo.InvariantCulture, $"interval '{amount} {unit}'");
    }

    private static void Check(TimeSpan value, string setting, TimeSpan min, TimeSpan max, bool allowOff)
    {
        if (allowOff && value == TimeSpan.Zero)
        {
            return;
        }

        if (value < min || value > max || value.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentException(
                $"{setting} must be a whole number of seconds between {min:c} and {max:c}{(allowOff ? ", or 00:00:00 for off" : "")}; it is {value:c}.",
                setting);
        }
    }
}
