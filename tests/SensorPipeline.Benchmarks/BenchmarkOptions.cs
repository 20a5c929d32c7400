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
        The last line printed is:
          RESULT e2e_per_s=<n> copy_per_s=<n> ratio=<x> p50_ms=<n> p95_ms=<n> p99_ms=<n> rss_mb=<n>
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
                case "--batch": o.BatchSize = Int(1, 5000); break;
                case "--clients": o.Clients = Int(1, 256); break;
                case "--rate": o.Rate = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--warmup": o.Warmup = Seconds(0, 600); break;
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

        if (o.Rate < 0)
        {
            throw new ArgumentException("--rate must be 0 (flat out) or positive.");
        }

        return o;
    }
}
