using System.Globalization;

namespace SensorPipeline.Benchmarks;

/// <summary>Command-line options; every run is bounded in time and in readings.</summary>
internal sealed class BenchmarkOptions
{
    public int Sensors { get; private set; } = 500;
    public int BatchSize { get; private set; } = 500;
    public int Clients { get; private set; } = 8;
    /// <summary>Target readings/s over all clients; 0 = flat out.</summary>
    public double Rate { get; private set; }
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(15);
    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(60);
    public TimeSpan DrainTimeout { get; private set; } = TimeSpan.FromSeconds(60);
    public long MaxReadings { get; private set; } = 50_000_000;
    public int CopyRows { get; private set; } = 1_000_000;
    /// <summary>Most readings accepted but not yet through the pipeline (Kafka lag) before clients wait; 0 = no bound.</summary>
    public long MaxBacklog { get; private set; } = 100_000;
    public int Partitions { get; private set; } = 4;
    public string? Postgres { get; private set; }
    public string? Kafka { get; private set; }
    public string? AppDll { get; private set; }
    public int Port { get; private set; }
    public bool ShowHelp { get; private set; }
    /// <summary>MQTT scenario: enrolled devices, each its own MQTT connection.</summary>
    public int Devices { get; private set; } = 100;
    /// <summary>MQTT scenario: readings per published message.</summary>
    public int MqttBatch { get; private set; } = 20;
    /// <summary><c>throughput</c> (the default) or <c>backfill</c> (realtime latency with and without a recalibration backfill).</summary>
    public string Scenario { get; private set; } = "throughput";
    /// <summary>Backfill scenario: raw readings of old data seeded before the run.</summary>
    public int HistoryReadings { get; private set; } = 1_000_000;
    public int HistorySensors { get; private set; } = 1_000;
    /// <summary>Backfill scenario: also seed a calibrated row per history reading, so the backfill overwrites (as a real recalibration does).</summary>
    public bool HistoryCalibrated { get; private set; } = true;
    /// <summary>Backfill scenario: how long the job may run on after phase B to report its full rate.</summary>
    public TimeSpan BackfillTimeout { get; private set; } = TimeSpan.FromMinutes(5);
    private bool _rateGiven;
    private bool _batchGiven;
    private bool _warmupGiven;
    /// <summary>Extra settings for the app (experiments only; printed with the results).</summary>
    public Dictionary<string, string> AppSettings { get; } = [];

    public const string Usage = """
        SensorPipeline end-to-end benchmark: starts the app (a separate process) on an embedded
        PostgreSQL and librdkafka's mock Kafka cluster (or given servers), posts readings over HTTP
        to 127.0.0.1, and measures throughput, end-to-end latency, the database's binary COPY limit,
        and the app's RSS and CPU.

        Options (defaults in brackets):
          --sensors N          simulated sensors [500]
          --batch N            readings per request [500]
          --clients N          concurrent HTTP clients [8]
          --rate N             target readings/s over all clients; 0 = flat out [0]
          --max-backlog N      clients wait while more readings than this are accepted but not yet
                               through the pipeline (Kafka lag of persist-raw + calibrate-realtime);
                               keeps a flat-out run within the mock broker's retention; 0 = unbounded,
                               which measures HTTP ingest alone and loses readings on the mock [100000]
          --warmup S           warm-up seconds, not measured [15]
          --duration S         steady-phase seconds, measured [60]
          --drain-timeout S    seconds to wait for the steady phase's readings to be calibrated [60]
          --max-readings N     stop sending after this many readings [50000000]
          --copy-rows N        rows for the binary COPY reference; 0 skips it [1000000]
          --partitions N       partitions per topic on the mock cluster (as `start`) [4]
          --postgres CS        use this PostgreSQL (Npgsql connection string) instead of an embedded one
          --kafka SERVERS      use these bootstrap servers instead of the mock cluster (topics must exist)
          --app PATH           SensorPipeline.Functions.dll to run [the build output of functions/]
          --port N             HTTP port for the app [a free one]
          --app-setting K=V    an extra setting (environment variable) for the app, repeatable; for
                               experiments such as AzureFunctionsJobHost__extensions__kafka__maxBatchSize=2000
          --scenario NAME      throughput (default): the measurements above; backfill: seeds
                               --history-readings old raw readings, then runs a steady realtime load
                               (--rate, default 2000 readings/s; --batch default 100; --warmup default
                               10) for --duration without (phase A) and then with (phase B) a
                               recalibration job over all of them, and compares realtime latency;
                               invoke: the portable host's cost per invocation (its FunctionContext,
                               DI scope, binding), in process, no servers; mqtt: enrols --devices
                               devices that publish flat out over mutual TLS to the embedded broker
                               (QoS 1, --mqtt-batch readings a message, the next after the PUBACK),
                               then the HTTP load above on the same app, each for --warmup and
                               --duration, and prints both doors side by side; --rate paces each
                               door to that many readings/s (0: flat out); dashboard: seeds a year
                               of one-minute readings for one sensor and 10,000 sensors, then times
                               the dashboard's series and sensor-list endpoints and their payloads
          --devices N          mqtt: devices, each its own TLS connection [100]
          --mqtt-batch N       mqtt: readings per message, one per sensor of the device [20]
          --history-readings N backfill: raw readings seeded for the job [1000000]
          --history-sensors N  backfill: sensors they belong to [1000]
          --history-calibrated yes|no
                               backfill: seed a calibrated row for each too, so the job overwrites
                               existing values as a real recalibration does [yes]
          --backfill-timeout S backfill: how long the job may run on after phase B to report its
                               full-job rate [300]
        The last line printed is:
          RESULT e2e_per_s=<n> copy_per_s=<n> ratio=<x> p50_ms=<n> p95_ms=<n> p99_ms=<n> rss_mb=<n>
        or, with --scenario backfill (a = without, b = with the backfill):
          RESULT_BACKFILL rt_p50_ms=<a>/<b> rt_p95_ms=<a>/<b> rt_p99_ms=<a>/<b> p99_ratio=<b/a> backfill_per_s=<n>
        or, with --scenario mqtt:
          RESULT_MQTT mqtt_per_s=<n> publish_p50_ms=<n> publish_p95_ms=<n> publish_p99_ms=<n> http_per_s=<n> http_p50_ms=<n> http_p95_ms=<n> http_p99_ms=<n>
        or, with --scenario invoke:
          RESULT_INVOKE bare_ns=<n> context_ns=<n> context_bytes=<n> metadata_ns=<n>
        """;

    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            int Int(int min, int max)
            {
                var v = int.Parse(Value(), CultureInfo.InvariantCulture);
                return v >= min && v <= max ? v : throw new ArgumentException($"{name} must be between {min} and {max}.");
            }

            TimeSpan Seconds(double min, double max)
            {
                var v = double.Parse(Value(), CultureInfo.InvariantCulture);
                return v >= min && v <= max ? TimeSpan.FromSeconds(v) : throw new ArgumentException($"{name} must be between {min} and {max} seconds.");
            }

            switch (name)
            {
                case "--sensors": o.Sensors = Int(1, 1_000_000); break;
                case "--batch": o.BatchSize = Int(1, 5000); o._batchGiven = true; break;
                case "--clients": o.Clients = Int(1, 256); break;
                case "--rate": o.Rate = double.Parse(Value(), CultureInfo.InvariantCulture); o._rateGiven = true; break;
                case "--warmup": o.Warmup = Seconds(0, 600); o._warmupGiven = true; break;
                case "--scenario":
                    o.Scenario = Value() switch
                    {
                        "throughput" => "throughput",
                        "backfill" => "backfill",
                        "invoke" => "invoke",
                        "mqtt" => "mqtt",
                        "dashboard" => "dashboard",
                        var other => throw new ArgumentException($"Unknown scenario {other}: throughput, backfill, mqtt, invoke or dashboard."),
                    };
                    break;
                case "--devices": o.Devices = Int(1, 10_000); break;
                case "--mqtt-batch": o.MqttBatch = Int(1, 1000); break;
                case "--history-readings": o.HistoryReadings = Int(1, 50_000_000); break;
                case "--history-sensors": o.HistorySensors = Int(1, 100_000); break;
                case "--history-calibrated":
                    o.HistoryCalibrated = Value() switch
                    {
                        "yes" or "true" => true,
                        "no" or "false" => false,
                        _ => throw new ArgumentException("--history-calibrated takes yes or no."),
                    };
                    break;
                case "--backfill-timeout": o.BackfillTimeout = Seconds(0, 3600); break;
                case "--duration": o.Duration = Seconds(1, 3600); break;
                case "--drain-timeout": o.DrainTimeout = Seconds(0, 600); break;
                case "--max-readings": o.MaxReadings = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--copy-rows": o.CopyRows = Int(0, 20_000_000); break;
                case "--max-backlog": o.MaxBacklog = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--partitions": o.Partitions = Int(1, 64); break;
                case "--postgres": o.Postgres = Value(); break;
                case "--kafka": o.Kafka = Value(); break;
                case "--app": o.AppDll = Path.GetFullPath(Value()); break;
                case "--port": o.Port = Int(1, 65535); break;
                case "--app-setting":
                    var setting = Value();
                    var eq = setting.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException("--app-setting takes NAME=VALUE.");
                    }

                    o.AppSettings[setting[..eq]] = setting[(eq + 1)..];
                    break;
                case "-h" or "--help": o.ShowHelp = true; break;
                default: throw new ArgumentException($"Unknown option {name}.");
            }
        }

        if (o.Scenario == "backfill")
        {
            // A steady realtime load, not flat out: what a backfill must not delay.
            o.Rate = o._rateGiven ? o.Rate : 2000;
            o.BatchSize = o._batchGiven ? o.BatchSize : 100;
            o.Warmup = o._warmupGiven ? o.Warmup : TimeSpan.FromSeconds(10);
            if (o.Rate <= 0)
            {
                throw new ArgumentException("--scenario backfill needs a steady --rate above 0.");
            }
        }

        if (o.Rate < 0)
        {
            throw new ArgumentException("--rate must be 0 (flat out) or positive.");
        }

        return o;
    }
}
