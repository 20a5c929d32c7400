using System.Reflection;
using System.Text;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// Every app setting, with its default and meaning: printed by <c>start --help</c>; README's
/// configuration table says the same (a test holds the two, and the options classes, together).
/// </summary>
public static class SettingsReference
{
    public sealed record Setting(string Name, string Default, string Meaning);

    public static IReadOnlyList<Setting> All { get; } =
    [
        new("TimescaleConnection", "embedded PostgreSQL", "Npgsql connection string (TimescaleDB or plain PostgreSQL)"),
        new("DatabaseMode", "detect", "Plain or TimescaleDb to insist"),
        new("TimescaleChunkInterval", "1.00:00:00", "TimescaleDB chunk interval"),
        new("TimescaleCompressAfter", "7.00:00:00", "compress chunks older than this; 00:00:00 never"),
        new("TimescaleRawRetention", "00:00:00 (off)", "drop raw chunks older than this"),
        new("TimescaleRollupRetention", "00:00:00 (off)", "drop materialized rollups older than this"),
        new("KafkaBrokerList", "mock cluster", "bootstrap servers"),
        new("KafkaGroupProtocol", "classic (consumer on the mock)", "consumer (KIP-848) or classic"),
        new("KafkaSecurityProtocol", "-", "for secured clusters"),
        new("KafkaSaslMechanism", "-", "for secured clusters"),
        new("KafkaSaslUsername", "-", "for secured clusters"),
        new("KafkaSaslPassword", "-", "for secured clusters"),
        new("MockTopicPartitions", "4", "partitions of each topic on the mock cluster"),
        new("RawTopic", "temperature.raw", "raw readings topic"),
        new("RealtimeTopic", "temperature.calibration.realtime", "new readings to calibrate"),
        new("HistoricalTopic", "temperature.calibration.historical", "readings to recalibrate"),
        new("PersistRawGroup", "persist-raw", "consumer group of PersistRawReadings"),
        new("RealtimeGroup", "calibrate-realtime", "consumer group of CalibrateRealtime"),
        new("HistoricalGroup", "calibrate-historical", "consumer group of CalibrateHistorical"),
        new("LagThreshold__<function>", "the trigger's LagThreshold (= keda)", "lag threshold the pipeline view and status compare a group's lag with"),
        new("ReconcileSchedule", "0 */1 * * * *", "NCRONTAB (seconds first, UTC) of ReconcileUncalibrated"),
        new("ReconcileGracePeriod", "00:02:00", "how long a reading may stay uncalibrated before it is resent"),
        new("ReconcileLookback", "7.00:00:00", "how far back the reconcile timer looks"),
        new("ReconcileBatchLimit", "10000", "most readings resent per reconcile run"),
        new("IngestMaxReadingsPerRequest", "5000", "readings per request"),
        new("IngestMinValue", "-1000", "lowest accepted raw value"),
        new("IngestMaxValue", "1000", "highest accepted raw value"),
        new("IngestMaxFutureSkew", "00:05:00", "how far in the future recordedAt may be"),
        new("IngestMaxAge", "3650.00:00:00", "how far in the past recordedAt may be (10 years)"),
        new("IngestMaxRawBacklog", "100000", "readings accepted but not stored past which ingest answers 503; 0 off"),
        new("IngestErrorRatePerMinute", "60", "refused payloads stored per source (device, key or address) and minute; beyond it they are counted, not stored"),
        new("PayloadRetention", "30.00:00:00", "keep the payload and ingest-error ledgers this long (TimescaleDB: retention policy; plain: the PayloadLedgerRetention timer); 00:00:00 for ever"),
        new("PayloadRetentionSchedule", "0 17 * * * *", "NCRONTAB of PayloadLedgerRetention (plain PostgreSQL deletes old payloads; both modes old errors)"),
        new("RecalibrationSchedule", "*/5 * * * * *", "how often an idle recalibration producer looks for work"),
        new("RecalibrationPageSize", "5000", "readings per page of a recalibration job"),
        new("RecalibrationMaxInFlight", "50000", "most readings published for recalibration but not yet consumed"),
        new("RecalibrationLeaseTimeout", "00:00:30", "a producer's hold on a job lapses after this"),
        new("RecalibrationRunBudget", "00:05:00", "work per producer run before the next run resumes"),
        new("RecalibrationDrainTimeout", "00:01:00", "no progress for this long: a repair pass resends what is missing"),
        new("CalibrationFile", "-", "YAML file of calibration parameters per sensor, applied at start and on every change"),
        new("CalibrationFilePollInterval", "00:00:10", "how often the calibration file's content is checked"),
        new("QueryMaxRange", "366.00:00:00", "widest from-to range of a readings or rollups request"),
        new("DeviceCaDirectory", "<data-dir>/../device-ca; Development: throwaway; else off", "folder of the device CA (ca.crt, ca.key, hmac.key), created on first start; unset outside Development: device doors off"),
        new("DeviceCertificateLifetime", "365.00:00:00", "validity of an issued device certificate"),
        new("DeviceSignatureMaxSkew", "00:05:00", "how far x-timestamp of a signed request may be from now"),
        new("DeviceProvisioningSecret", "- (off)", "shared secret signing devices' startup events (POST /api/devices/startup, fleet provisioning); unset: off"),
        new("DeviceStartupRateLimit", "60", "startup events accepted per source address per minute (token bucket, per replica), then 429 with Retry-After; 0: no limit"),
        new("MqttBroker", "embedded broker", "host:port of an external MQTT 5 broker (e.g. Mosquitto); none: no MQTT door here"),
        new("MqttPort", "8883", "TLS port of the embedded MQTT broker; 0 picks a free one"),
        new("MqttListenAddress", "loopback", "where the embedded MQTT broker listens: loopback (127.0.0.1 and ::1), any (all interfaces), or one IP address"),
        new("MqttHost", "localhost", "broker host name told to devices and put in the broker's certificate"),
        new("MqttBridgeGroup", "sensorpipeline", "shared-subscription group of the MQTT bridge"),
        new("Keys__Master", "none", "master key (x-functions-key or ?code=); required outside Development"),
        new("Keys__Function__<name>", "none", "function keys"),
        new("ASPNETCORE_ENVIRONMENT", "Development (start)", "Production requires keys and listens on all interfaces"),
        new("AzureWebJobsStorage", "-", "timers run once across replicas under a blob lease; unset: a PostgreSQL table"),
        new("OTEL_EXPORTER_OTLP_ENDPOINT", "-", "turns on the OTLP exporter (metrics and traces)"),
        new("OTEL_SERVICE_NAME", "sensorpipeline", "service.name of metrics and traces"),
    ];

    /// <summary>Names bound by the options classes (<c>[ConfigurationKeyName]</c>): each must be listed.</summary>
    public static IEnumerable<string> BoundNames() =>
        new[] { typeof(PipelineOptions), typeof(Query.QueryOptions), typeof(Runtime.Kafka.KafkaConnectionOptions), typeof(Devices.DeviceOptions) }
            .SelectMany(t => t.GetProperties())
            .Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name)
            .OfType<string>()
            .Concat(SensorPipelineApp.Defaults.Keys);

    /// <summary>The table for <c>start --help</c>, wrapped to <paramref name="width"/> columns.</summary>
    public static string Help(int width = 80)
    {
        var text = new StringBuilder("Settings (environment variables, local.settings.json Values, or --Name value):");
        var nameWidth = All.Max(s => s.Name.Length) + 2;
        foreach (var s in All)
        {
            var line = new StringBuilder("  " + s.Name.PadRight(nameWidth));
            var words = $"{s.Meaning} [default: {s.Default}]".Split(' ');
            var column = line.Length;
            foreach (var word in words)
            {
                if (column + word.Length + 1 > width && column > nameWidth + 2)
                {
                    line.Append('\n').Append(' ', nameWidth + 2);
                    column = nameWidth + 2;
                }
                else if (column > nameWidth + 2)
                {
                    line.Append(' ');
                    column++;
                }

                line.Append(word);
                column += word.Length;
            }

            text.Append('\n').Append(line);
        }

        return text.ToString();
    }
}
