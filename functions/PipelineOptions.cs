using System.ComponentModel.DataAnnotations;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions;

/// <summary>The pipeline's settings: flat names, as Azure Functions app settings.</summary>
public sealed class PipelineOptions
{
    [Required(ErrorMessage = "TimescaleConnection (an Npgsql connection string) is required.")]
    [ConfigurationKeyName("TimescaleConnection")]
    public string TimescaleConnection { get; set; } = "";

    /// <summary>Null detects TimescaleDB; Plain or TimescaleDb insists.</summary>
    [ConfigurationKeyName("DatabaseMode")]
    public DatabaseMode? DatabaseMode { get; set; }

    /// <summary>TimescaleDB chunk interval of raw_data and calibrated_temperature (docs/TIMESCALEDB.md).</summary>
    [ConfigurationKeyName("TimescaleChunkInterval")]
    public TimeSpan TimescaleChunkInterval { get; set; } = TimescaleSettings.Default.ChunkInterval;

    /// <summary>TimescaleDB: compress chunks older than this; 00:00:00 never.</summary>
    [ConfigurationKeyName("TimescaleCompressAfter")]
    public TimeSpan TimescaleCompressAfter { get; set; } = TimescaleSettings.Default.CompressAfter;

    /// <summary>TimescaleDB: drop raw chunks older than this; 00:00:00 (default) never.</summary>
    [ConfigurationKeyName("TimescaleRawRetention")]
    public TimeSpan TimescaleRawRetention { get; set; } = TimescaleSettings.Default.RawRetention;

    /// <summary>TimescaleDB: drop materialized rollups older than this; 00:00:00 (default) never.</summary>
    [ConfigurationKeyName("TimescaleRollupRetention")]
    public TimeSpan TimescaleRollupRetention { get; set; } = TimescaleSettings.Default.RollupRetention;

    /// <summary>The TimescaleDB settings for the Migrator (validated there, naming the setting).</summary>
    public TimescaleSettings Timescale() => new()
    {
        ChunkInterval = TimescaleChunkInterval,
        CompressAfter = TimescaleCompressAfter,
        RawRetention = TimescaleRawRetention,
        RollupRetention = TimescaleRollupRetention,
        PayloadRetention = PayloadRetention,
    };

    /// <summary>How long the payload and ingest-error ledgers are kept (both modes); 00:00:00 for ever.</summary>
    [ConfigurationKeyName("PayloadRetention")]
    public TimeSpan PayloadRetention { get; set; } = TimescaleSettings.Default.PayloadRetention;

    /// <summary>Refusals stored per source (device, key or address) and minute; more are counted, not stored. 0: none stored.</summary>
    [ConfigurationKeyName("IngestErrorRatePerMinute")]
    [Range(0, 100_000)]
    public int IngestErrorRatePerMinute { get; set; } = 60;

    /// <summary>NCRONTAB of PayloadLedgerRetention (deletes old ledger rows in bounded batches).</summary>
    [Required, ConfigurationKeyName("PayloadRetentionSchedule")]
    public string PayloadRetentionSchedule { get; set; } = "0 17 * * * *";

    [Required, ConfigurationKeyName("RawTopic")]
    public string RawTopic { get; set; } = "temperature.raw";

    [Required, ConfigurationKeyName("RealtimeTopic")]
    public string RealtimeTopic { get; set; } = "temperature.calibration.realtime";

    [Required, ConfigurationKeyName("HistoricalTopic")]
    public string HistoricalTopic { get; set; } = "temperature.calibration.historical";

    /// <summary>How long a raw reading may stay uncalibrated before the timer sends it again.</summary>
    [ConfigurationKeyName("ReconcileGracePeriod")]
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ErrorMessage = "ReconcileGracePeriod must be between 1 second and 7 days.")]
    public TimeSpan ReconcileGracePeriod { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How far back the timer looks for uncalibrated readings.</summary>
    [ConfigurationKeyName("ReconcileLookback")]
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00", ErrorMessage = "ReconcileLookback must be between 1 minute and 10 years.")]
    public TimeSpan ReconcileLookback { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Most readings the timer republishes per run.</summary>
    [ConfigurationKeyName("ReconcileBatchLimit")]
    [Range(1, 1_000_000)]
    public int ReconcileBatchLimit { get; set; } = 10_000;

    [ConfigurationKeyName("IngestMaxReadingsPerRequest")]
    [Range(1, 100_000)]
    public int IngestMaxReadingsPerRequest { get; set; } = 5000;

    [ConfigurationKeyName("IngestMinValue")]
    public double IngestMinValue { get; set; } = -1000;

    [ConfigurationKeyName("IngestMaxValue")]
    public double IngestMaxValue { get; set; } = 1000;

    /// <summary>
    /// Raw readings accepted but not yet stored (lag of PersistRawGroup) past which ingest answers
    /// 503; 0 turns the check off.
    /// </summary>
    [ConfigurationKeyName("IngestMaxRawBacklog")]
    [Range(0, long.MaxValue)]
    public long IngestMaxRawBacklog { get; set; } = 100_000;

    [Required, ConfigurationKeyName("PersistRawGroup")]
    public string PersistRawGroup { get; set; } = "persist-raw";

    [ConfigurationKeyName("IngestMaxFutureSkew")]
    public TimeSpan IngestMaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far in the past <c>recordedAt</c> may be: older readings are refused (400).</summary>
    [ConfigurationKeyName("IngestMaxAge")]
    [Range(typeof(TimeSpan), "1.00:00:00", "36500.00:00:00", ErrorMessage = "IngestMaxAge must be between 1 day and 36500 days (100 years).")]
    public TimeSpan IngestMaxAge { get; set; } = Domain.Ingest.ReadingLimits.DefaultMaxAge;

    /// <summary>Readings read and published per page of a recalibration job.</summary>
    [ConfigurationKeyName("RecalibrationPageSize")]
    [Range(100, 100_000)]
    public int RecalibrationPageSize { get; set; } = 5000;

    /// <summary>
    /// Most readings published for recalibration but not yet consumed (lag of the historical
    /// group): the development broker keeps only ~5 MiB per partition, and a real one need not
    /// hold years of backfill either.
    /// </summary>
    [ConfigurationKeyName("RecalibrationMaxInFlight")]
    [Range(1000, 10_000_000)]
    public int RecalibrationMaxInFlight { get; set; } = 50_000;

    /// <summary>A producer that stops renewing its hold on a job for this long loses it to another.</summary>
    [ConfigurationKeyName("RecalibrationLeaseTimeout")]
    public TimeSpan RecalibrationLeaseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one run of the producer works on a job before handing back (the next run resumes).</summary>
    [ConfigurationKeyName("RecalibrationRunBudget")]
    public TimeSpan RecalibrationRunBudget { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A job whose published readings show no progress for this long while some remain gets a
    /// repair pass that publishes the missing ones again (e.g. after the in-memory development
    /// broker died with the app).
    /// </summary>
    [ConfigurationKeyName("RecalibrationDrainTimeout")]
    public TimeSpan RecalibrationDrainTimeout { get; set; } = TimeSpan.FromSeconds(60);

    [Required, ConfigurationKeyName("HistoricalGroup")]
    public string HistoricalGroup { get; set; } = "calibrate-historical";

    /// <summary>
    /// Calibration as code: a YAML file (<c>sensors: { id: { gain, offset, validFrom } }</c>, on
    /// Kubernetes mounted from a ConfigMap) applied at start and whenever its content changes.
    /// </summary>
    [ConfigurationKeyName("CalibrationFile")]
    public string? CalibrationFile { get; set; }

    /// <summary>How often the calibration file's content hash is checked.</summary>
    [ConfigurationKeyName("CalibrationFilePollInterval")]
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "CalibrationFilePollInterval must be between 1 second and 1 hour.")]
    public TimeSpan CalibrationFilePollInterval { get; set; } = TimeSpan.FromSeconds(10);
}
