using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Npgsql;
using SensorPipeline.Benchmarks;
using SensorPipeline.Runtime.Embedded;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(BenchmarkOptions.Usage);
    return 0;
}

if (options.Scenario == "invoke")
{
    return await InvokeScenario.RunAsync();
}

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("The benchmark reads CPU and memory from /proc: it runs on Linux only.");
    return 2;
}

// Ctrl+C and SIGTERM cancel the run; everything started is stopped in the finally blocks below.
using var cancel = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
var token = cancel.Token;

var dll = options.AppDll ?? typeof(BenchmarkOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "FunctionsDll").Value!;
var runId = Guid.NewGuid().ToString("N")[..6];
var sensorPrefix = $"bench-{runId}-";
var startedAt = DateTimeOffset.UtcNow;
var loadAtStart = ProcStats.LoadAverage();
Console.WriteLine($"SensorPipeline benchmark {startedAt:yyyy-MM-dd HH:mm:ss} UTC, run {runId}; {Environment.ProcessorCount} cores, load average {loadAtStart}");
Console.WriteLine($"  scenario {options.Scenario}; {options.Sensors} sensors, batches of {options.BatchSize}, {options.Clients} clients, {(options.Rate > 0 ? $"target {options.Rate:0} readings/s" : "flat out")}, warm-up {options.Warmup.TotalSeconds:0} s, steady {options.Duration.TotalSeconds:0} s");

EmbeddedPostgres? postgres = null;
MockKafkaCluster? kafka = null;
AppProcess? app = null;
NpgsqlDataSource? db = null;
BacklogMonitor? backlog = null;
try
{
    string connectionString;
    if (options.Postgres is null)
    {
        Console.WriteLine("  starting an embedded PostgreSQL...");
        postgres = await EmbeddedPostgres.StartAsync(cancellationToken: token);
        connectionString = postgres.ConnectionString;
    }
    else
    {
        connectionString = options.Postgres;
    }

    string bootstrap;
    if (options.Kafka is null)
    {
        kafka = MockKafkaCluster.Start(brokers: 1);
        foreach (var topic in new[] { "temperature.raw", "temperature.calibration.realtime", "temperature.calibration.historical" })
        {
            kafka.CreateTopic(topic, options.Partitions);
            kafka.CreateTopic(topic + ".deadletter", 1);
        }

        bootstrap = kafka.BootstrapServers;
    }
    else
    {
        bootstrap = options.Kafka;
    }

    Console.WriteLine($"  database {connectionString} [{(postgres is null ? "given" : "embedded")}]; kafka {bootstrap} [{(kafka is null ? "given" : $"mock cluster in this process, {options.Partitions} partitions per topic")}]");
    var environment = new Dictionary<string, string>
    {
        ["TimescaleConnection"] = connectionString,
        ["KafkaBrokerList"] = bootstrap,
        ["KafkaGroupProtocol"] = kafka is not null ? "consumer" : Environment.GetEnvironmentVariable("KafkaGroupProtocol") ?? "classic",
        ["ASPNETCORE_ENVIRONMENT"] = "Development",
        ["Logging__LogLevel__Default"] = "Warning",
        // The embedded MQTT broker on a free port (the mqtt scenario reads it from the enrolment answer).
        ["MqttPort"] = "0",
    };
    foreach (var (name, value) in options.AppSettings)
    {
        environment[name] = value;
    }

    Console.WriteLine($"  starting the app: dotnet {dll} start{(options.AppSettings.Count == 0 ? "" : "  with " + string.Join(" ", options.AppSettings.Select(s => $"{s.Key}={s.Value}")))}");
    app = await AppProcess.StartAsync(dll, options.Port, environment, token);
    var dataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString);
    dataSourceBuilder.ConnectionStringBuilder.ApplicationName = "sensorpipeline-benchmark";
    db = dataSourceBuilder.Build();
    var measurements = new Measurements(db, sensorPrefix);
    var serverVersion = await measurements.ServerVersionAsync(token);
    Console.WriteLine($"  app pid {app.Pid} on http://127.0.0.1:{app.Port}; PostgreSQL {serverVersion}; app log {app.LogPath}");
    var postmaster = postgres is null ? (int?)null : int.Parse(File.ReadLines(Path.Combine(postgres.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    if (options.Scenario == "dashboard")
    {
        // The dashboard's reads over seeded data (DashboardScenario.cs).
        return await DashboardScenario.RunAsync(app, db, runId, token);
    }

    if (options.Scenario == "backfill")
    {
        // Realtime latency with and without a recalibration backfill (BackfillScenario.cs).
        return await BackfillScenario.RunAsync(options, app, db, bootstrap, runId, sensorPrefix, postmaster, token);
    }

    if (options.Scenario == "mqtt")
    {
        // The MQTT door beside the HTTP door, one after the other on this app (MqttScenario.cs).
        return await MqttScenario.RunAsync(options, app, db, bootstrap, sensorPrefix, postmaster, token);
    }

    // Load: warm-up, then the steady phase.
    backlog = options.MaxBacklog > 0 ? new BacklogMonitor(bootstrap) : null;
    var load = new LoadGenerator(options, app.Port, sensorPrefix, backlog);
    using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(token);
    var clients = load.RunAsync(stopLoad.Token, token);
    Console.WriteLine($"  warm-up {options.Warmup.TotalSeconds:0} s...");
    await Task.Delay(options.Warmup, token);
    var steadyFrom = DateTime.UtcNow;
    var steadyStart = Stopwatch.GetTimestamp();
    load.SetSteadyWindow(steadyStart, steadyStart + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency));
    var appCpu0 = ProcStats.CpuSeconds(app.Pid) ?? 0;
    var pgCpu0 = postmaster is { } pm0 ? ProcStats.TreeCpuSeconds(pm0) : 0;
    var ownThreads0 = ProcStats.OwnThreadsCpuSeconds();
    var machine0 = ProcStats.MachineCpu();
    Console.WriteLine($"  steady {options.Duration.TotalSeconds:0} s...");
    await Task.Delay(options.Duration, token);
    var steadyTo = DateTime.UtcNow;
    var steadySeconds = Stopwatch.GetElapsedTime(steadyStart).TotalSeconds;
    var appCpu1 = ProcStats.CpuSeconds(app.Pid) ?? appCpu0;
    var pgCpu1 = postmaster is { } pm1 ? ProcStats.TreeCpuSeconds(pm1) : 0;
    var ownThreads1 = ProcStats.OwnThreadsCpuSeconds();
    var machine1 = ProcStats.MachineCpu();
    var loadAtEnd = ProcStats.LoadAverage();
    await stopLoad.CancelAsync();
    var stats = await clients;
    var maxBacklog = backlog?.MaxBacklog;
    if (backlog is not null)
    {
        await backlog.DisposeAsync();
        backlog = null;
    }

    var (calibratedSteady, calibratedBuckets) = await measurements.CalibratedInWindowAsync(steadyFrom, steadyTo, token);

    // Drain: wait until every reading received in the steady phase is calibrated (or the timeout).
    Console.WriteLine("  draining: waiting for the steady phase's readings to be calibrated...");
    var drainWatch = Stopwatch.StartNew();
    long uncalibrated;
    long stored;
    var acceptedAll = stats.Sum(s => s.AcceptedTotal);
    // Every accepted reading stored (else the steady window is not complete yet) and none of the
    // steady phase's readings uncalibrated; a reading the mock broker trimmed never arrives, so
    // this is bounded by the drain timeout.
    while (((stored = await measurements.RawRowsAsync(token)) < acceptedAll |
            (uncalibrated = await measurements.UncalibratedAsync(steadyFrom, steadyTo, token)) > 0) &&
           drainWatch.Elapsed < options.DrainTimeout)
    {
        await Task.Delay(1000, token);
    }

    var latency = await measurements.LatencyAsync(steadyFrom, steadyTo, token);
    var rawRows = stored;
    var sampledRss = app.MaxSampledRssMb;
    var peakRss = Math.Max(ProcStats.StatusMb(app.Pid, "VmHWM") ?? 0, sampledRss);
    var appExitedEarly = app.HasExited;
    await app.DisposeAsync();
    app = null;

    Measurements.CopyResult? copy = null;
    if (options.CopyRows > 0)
    {
        Console.WriteLine($"  binary COPY of {options.CopyRows:N0} rows of raw_data's shape into a scratch table (the app is stopped)...");
        copy = await measurements.CopyLimitAsync(options.CopyRows, token);
    }

    // Report.
    var acceptedTotal = stats.Sum(s => s.AcceptedTotal);
    var acceptedSteady = stats.Sum(s => s.AcceptedSteady);
    var acceptedPerSecond = acceptedSteady / steadySeconds;
    var calibratedPerSecond = calibratedSteady / steadySeconds;
    var failures = stats.SelectMany(s => s.Failures).GroupBy(f => f.Key).ToDictionary(g => g.Key, g => g.Sum(f => f.Value));
    var requestMs = stats.SelectMany(s => s.SteadyRequestMs).Order().ToArray();
    var appCpu = appCpu1 - appCpu0;
    var pgCpu = pgCpu1 - pgCpu0;
    var machineBusy = (machine1.Busy - machine0.Busy) / Math.Max(1e-9, machine1.Total - machine0.Total);
    var ownDelta = ownThreads1.ToDictionary(t => t.Key, t => t.Value - ownThreads0.GetValueOrDefault(t.Key));
    var e2e = calibratedPerSecond;
    var ratio = copy is null ? double.NaN : e2e / copy.RowsPerSecond;

    Console.WriteLine();
    Console.WriteLine($"Results (steady phase {steadySeconds:0.0} s; load average at start {loadAtStart}, at end {loadAtEnd}; machine CPU busy {machineBusy:P0} of {Environment.ProcessorCount} cores)");
    Console.WriteLine();
    Row("readings accepted (HTTP 202)", $"{acceptedPerSecond:N0} /s", $"{acceptedSteady:N0} in the steady phase, {acceptedTotal:N0} in all");
    Row("readings calibrated (rows written)", $"{calibratedPerSecond:N0} /s", $"{calibratedSteady:N0} calibrated_temperature rows with calibrated_at in the steady phase");
    Row("backlog growth", $"{(acceptedPerSecond - calibratedPerSecond) / Math.Max(1, acceptedPerSecond):P1}", calibratedPerSecond >= 0.95 * acceptedPerSecond ? "sustained (calibrated keeps up with accepted)" : "NOT sustained: the pipeline falls behind at this load");
    Row("end-to-end latency p50", $"{latency.P50Ms:N0} ms", "calibrated_at - received_at, every reading received in the steady phase");
    Row("end-to-end latency p95", $"{latency.P95Ms:N0} ms", "");
    Row("end-to-end latency p99", $"{latency.P99Ms:N0} ms", $"max {latency.MaxMs:N0} ms");
    Row("steady readings stored / calibrated", $"{latency.Readings:N0} / {latency.Calibrated:N0}", uncalibrated > 0 ? $"{uncalibrated:N0} still uncalibrated after a {options.DrainTimeout.TotalSeconds:0} s drain" : $"all calibrated ({drainWatch.Elapsed.TotalSeconds:0} s drain)");
    Row("raw rows stored / readings accepted", $"{rawRows:N0} / {acceptedTotal:N0}", rawRows < acceptedTotal ? $"{acceptedTotal - rawRows:N0} MISSING (the mock broker trims partitions beyond ~5 MiB)" : "none lost");
    Row("HTTP request latency p50 / p99", requestMs.Length == 0 ? "-" : $"{Percentile(requestMs, 0.5):N0} / {Percentile(requestMs, 0.99):N0} ms", $"{stats.Sum(s => s.RequestsSteady):N0} requests of {options.BatchSize}; failures: {(failures.Count == 0 ? "none" : string.Join(", ", failures.Select(f => $"{f.Value} x {(f.Key < 0 ? "transport" : f.Key.ToString(CultureInfo.InvariantCulture))}")))}");
    Row("binary COPY limit", copy is null ? "-" : $"{copy.RowsPerSecond:N0} /s", copy is null ? "skipped" : $"{copy.Rows:N0} rows in {copy.Seconds:0.00} s, raw_data's columns and indexes{(copy.Hypertable ? ", hypertable" : "")}, same database");
    Row("ratio end-to-end / COPY", double.IsNaN(ratio) ? "-" : $"{ratio:0.000}", "");
    Row("app peak RSS", $"{peakRss:N0} MB", $"VmHWM; highest sampled VmRSS {sampledRss:N0} MB");
    var processed = Math.Max(1, Math.Min(acceptedSteady, calibratedSteady));
    Row("app CPU per 1,000 readings", $"{appCpu / processed * 1000 * 1000:N1} ms", $"{appCpu:0.0} CPU s in the steady phase = {appCpu / steadySeconds:0.00} cores (per the lower of accepted and calibrated)");
    Row("PostgreSQL CPU per 1,000 readings", postmaster is null ? "-" : $"{pgCpu / processed * 1000 * 1000:N1} ms", postmaster is null ? "given server: not measured" : $"{pgCpu / steadySeconds:0.00} cores");
    foreach (var (name, seconds) in ownDelta.Where(t => t.Value > 0.2).OrderByDescending(t => t.Value).Take(6))
    {
        Row("benchmark process: " + name, $"{seconds / steadySeconds:0.00} cores", name.StartsWith("rdk:", StringComparison.Ordinal) ? "mock Kafka cluster (librdkafka threads in this process)" : "HTTP clients and runtime");
    }

    // Every CPU second the pipeline cost (app, database, mock broker, and the load generator,
    // which shares the machine): with the machine's cores all given to it, this bounds throughput.
    var ownCpu = ownDelta.Values.Sum();
    var pipelineCpu = appCpu + pgCpu + ownCpu;
    Row("all CPU per 1,000 readings", $"{pipelineCpu / processed * 1000 * 1000:N1} ms", $"app + PostgreSQL + this process (mock broker, HTTP clients); {Environment.ProcessorCount} cores would allow ~{Environment.ProcessorCount / (pipelineCpu / processed):N0} readings/s at this cost");

    Row("pipeline backlog (Kafka lag), max", maxBacklog is null ? "unbounded" : $"{maxBacklog:N0}", maxBacklog is null ? "not watched: clients never wait" : $"clients wait above {options.MaxBacklog:N0}");

    if (appExitedEarly)
    {
        Console.WriteLine("WARNING: the app exited during the run; see its log.");
    }

    Console.WriteLine();
    Console.WriteLine("  per 5 s of the steady phase: accepted / calibrated readings per second");
    var buckets = (int)Math.Ceiling(steadySeconds / 5);
    for (var b = 0; b < buckets; b++)
    {
        var accepted = stats.Sum(s => s.AcceptedByBucket.GetValueOrDefault(b)) / 5.0;
        var calibrated = calibratedBuckets.GetValueOrDefault(b) / 5.0;
        Console.WriteLine($"    {b * 5,4}-{b * 5 + 5,-4} s  {accepted,10:N0}  {calibrated,10:N0}");
    }

    if (options.Rate > 0)
    {
        Console.WriteLine();
        Console.WriteLine($"  target {options.Rate:N0} readings/s: accepted {acceptedPerSecond:N0}/s; realtime p99 {latency.P99Ms:N0} ms {(latency.P99Ms < 500 ? "< 500 ms: met" : ">= 500 ms: NOT met")}");
    }

    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT e2e_per_s={e2e:0} copy_per_s={(copy is null ? 0 : copy.RowsPerSecond):0} ratio={(double.IsNaN(ratio) ? 0 : ratio):0.000} p50_ms={Ms(latency.P50Ms)} p95_ms={Ms(latency.P95Ms)} p99_ms={Ms(latency.P99Ms)} rss_mb={peakRss:0}"));
    return appExitedEarly ? 1 : 0;
}
catch (OperationCanceledException) when (token.IsCancellationRequested)
{
    Console.Error.WriteLine("Cancelled: stopping everything that was started.");
    return 130;
}
finally
{
    if (backlog is not null)
    {
        await backlog.DisposeAsync();
    }

    if (app is not null)
    {
        await app.DisposeAsync();
    }

    if (db is not null)
    {
        await db.DisposeAsync();
    }

    kafka?.Dispose();
    if (postgres is not null)
    {
        await postgres.DisposeAsync();
    }
}

static void Row(string what, string value, string note) => Console.WriteLine($"  {what,-38} {value,16}  {note}");

// No calibrated reading in the window gives no latency: printed as -1 so the RESULT line stays numeric.
static string Ms(double value) => double.IsNaN(value) ? "-1" : value.ToString("0", CultureInfo.InvariantCulture);

static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
