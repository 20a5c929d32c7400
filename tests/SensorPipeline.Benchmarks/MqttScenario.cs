using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// <c>--scenario mqtt</c>: the MQTT door beside the HTTP door, in one run of one app. Enrols
/// <c>--devices</c> devices (<c>POST /api/devices</c>), which then publish flat out over mutual
/// TLS to the embedded broker, QoS 1 (<see cref="MqttLoadGenerator"/>); then the HTTP load of the
/// throughput scenario (<see cref="LoadGenerator"/>) for as long. Each door has its own sensors,
/// warm-up, steady phase and drain, and is measured alone: readings/s from publish (or POST) to
/// calibrated row, end-to-end latency, app CPU per 1,000 readings.
/// </summary>
internal static class MqttScenario
{
    private sealed record DoorResult(string Door, Phase Phase, long AcceptedSteady, long AcceptedTotal, long Calibrated, long RawRows, long Uncalibrated,
        Measurements.Latency Latency, Measurements.Latency? SincePublish, double[] AckMs, string Failures);

    public static async Task<int> RunAsync(BenchmarkOptions options, AppProcess app, NpgsqlDataSource db, string bootstrap, string sensorPrefix, int? postmaster, CancellationToken token)
    {
        var mqttPrefix = sensorPrefix + "m";
        var httpPrefix = sensorPrefix + "h";
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{app.Port}/"), Timeout = TimeSpan.FromSeconds(60) };
        Console.WriteLine($"  mqtt scenario: enrolling {options.Devices} devices ({mqttPrefix}NNNN); each publishes {options.MqttBatch} readings a message (sensors {{device}}:0..{options.MqttBatch - 1}), QoS 1, the next when the PUBACK came");
        var enrolWatch = Stopwatch.StartNew();
        var devices = new List<EnrolledDevice>();
        for (var i = 0; i < options.Devices; i++)
        {
            using var response = await http.PostAsJsonAsync("api/devices", new { deviceId = $"{mqttPrefix}{i:D4}" }, token);
            var body = await response.Content.ReadAsStringAsync(token);
            if ((int)response.StatusCode != 201)
            {
                throw new InvalidOperationException($"POST /api/devices answered {(int)response.StatusCode}: {body}");
            }

            using var json = JsonDocument.Parse(body);
            var r = json.RootElement;
            var mqtt = r.GetProperty("mqtt");
            devices.Add(new EnrolledDevice(r.GetProperty("deviceId").GetString()!, r.GetProperty("certificatePem").GetString()!, r.GetProperty("privateKeyPem").GetString()!,
                r.GetProperty("caCertificatePem").GetString()!, mqtt.GetProperty("host").GetString()!, mqtt.GetProperty("port").GetInt32(), mqtt.GetProperty("topic").GetString()!));
        }

        Console.WriteLine($"    {devices.Count} enrolled in {enrolWatch.Elapsed.TotalSeconds:0.0} s; broker {devices[0].Host}:{devices[0].Port}");
        var mqttResult = await MqttDoorAsync(options, app, db, bootstrap, mqttPrefix, devices, postmaster, token);
        var httpResult = await HttpDoorAsync(options, app, db, bootstrap, httpPrefix, postmaster, token);
        var appExitedEarly = app.HasExited;

        Console.WriteLine();
        Console.WriteLine($"Results: the same app, MQTT door then HTTP door ({Environment.ProcessorCount} cores); MQTT: {options.Devices} devices x {options.MqttBatch} readings a message; HTTP: {options.Clients} clients x {options.BatchSize} readings a request");
        Console.WriteLine();
        Console.WriteLine($"  {"",-44} {"MQTT (mutual TLS, QoS 1)",26} {"HTTP (POST /api/readings)",26}");
        Both("steady phase", $"{mqttResult.Phase.Seconds:0.0} s", $"{httpResult.Phase.Seconds:0.0} s", $"{mqttResult.Phase.From:HH:mm:ss}-{mqttResult.Phase.To:HH:mm:ss} / {httpResult.Phase.From:HH:mm:ss}-{httpResult.Phase.To:HH:mm:ss} UTC");
        Both("load average at start / end", Load(mqttResult.Phase), Load(httpResult.Phase), "1-minute load average");
        Both("readings acknowledged (PUBACK / 202)", PerSecond(mqttResult.AcceptedSteady, mqttResult.Phase), PerSecond(httpResult.AcceptedSteady, httpResult.Phase), "in the steady phase");
        Both("readings calibrated (rows written)", PerSecond(mqttResult.Calibrated, mqttResult.Phase), PerSecond(httpResult.Calibrated, httpResult.Phase), "calibrated rows with calibrated_at in the steady phase");
        Both("publish -> calibrated p50", Ms(mqttResult.SincePublish!.P50Ms), "-", "calibrated_at - recordedAt (set by the device when it publishes)");
        Both("publish -> calibrated p95", Ms(mqttResult.SincePublish.P95Ms), "-", "");
        Both("publish -> calibrated p99", Ms(mqttResult.SincePublish.P99Ms), "-", $"max {Ms(mqttResult.SincePublish.MaxMs)}");
        Both("received -> calibrated p50", Ms(mqttResult.Latency.P50Ms), Ms(httpResult.Latency.P50Ms), "calibrated_at - received_at (the app's clock at accept)");
        Both("received -> calibrated p95", Ms(mqttResult.Latency.P95Ms), Ms(httpResult.Latency.P95Ms), "");
        Both("received -> calibrated p99", Ms(mqttResult.Latency.P99Ms), Ms(httpResult.Latency.P99Ms), "");
        Both("acknowledgement p50 / p99", Pair(mqttResult.AckMs), Pair(httpResult.AckMs), "publish -> PUBACK (after Kafka acks) / POST -> 202");
        Both("steady readings stored / calibrated", $"{mqttResult.Latency.Readings:N0} / {mqttResult.Latency.Calibrated:N0}", $"{httpResult.Latency.Readings:N0} / {httpResult.Latency.Calibrated:N0}", "");
        Both("raw rows / readings acknowledged", $"{mqttResult.RawRows:N0} / {mqttResult.AcceptedTotal:N0}", $"{httpResult.RawRows:N0} / {httpResult.AcceptedTotal:N0}", Lost(mqttResult) + "; " + Lost(httpResult));
        Both("app CPU per 1,000 readings", CpuPer1000(mqttResult), CpuPer1000(httpResult), "app process CPU in the steady phase / calibrated readings");
        Both("PostgreSQL CPU per 1,000 readings", postmaster is null ? "-" : PgPer1000(mqttResult), postmaster is null ? "-" : PgPer1000(httpResult), "");
        Both("failures", mqttResult.Failures, httpResult.Failures, "");
        if (appExitedEarly)
        {
            Console.WriteLine("WARNING: the app exited during the run; see its log.");
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT_MQTT mqtt_per_s={mqttResult.Calibrated / mqttResult.Phase.Seconds:0} publish_p50_ms={Num(mqttResult.SincePublish.P50Ms)} publish_p95_ms={Num(mqttResult.SincePublish.P95Ms)} publish_p99_ms={Num(mqttResult.SincePublish.P99Ms)} http_per_s={httpResult.Calibrated / httpResult.Phase.Seconds:0} http_p50_ms={Num(httpResult.Latency.P50Ms)} http_p95_ms={Num(httpResult.Latency.P95Ms)} http_p99_ms={Num(httpResult.Latency.P99Ms)}"));
        return appExitedEarly ? 1 : 0;
    }

    private static Task<DoorResult> MqttDoorAsync(BenchmarkOptions options, AppProcess app, NpgsqlDataSource db, string bootstrap, string prefix, IReadOnlyList<EnrolledDevice> devices, int? postmaster, CancellationToken token) =>
        RunDoorAsync("MQTT", options, app, db, bootstrap, prefix, postmaster, sinceRecorded: true, token, (backlog, stop) =>
        {
            var load = new MqttLoadGenerator(options, devices, backlog);
            return (load.SetSteadyWindow, Summarize(load.RunAsync(stop, token)));

            static async Task<DoorLoad> Summarize(Task<IReadOnlyList<MqttLoadGenerator.DeviceStats>> running)
            {
                var stats = await running;
                return new DoorLoad(stats.Sum(s => s.AcceptedSteady), stats.Sum(s => s.AcceptedTotal), stats.SelectMany(s => s.SteadyAckMs).Order().ToArray(),
                    stats.SelectMany(s => s.Failures).GroupBy(f => f.Key).Select(g => $"{g.Sum(f => f.Value)} x {g.Key}"));
            }
        });

    private static Task<DoorResult> HttpDoorAsync(BenchmarkOptions options, AppProcess app, NpgsqlDataSource db, string bootstrap, string prefix, int? postmaster, CancellationToken token) =>
        RunDoorAsync("HTTP", options, app, db, bootstrap, prefix, postmaster, sinceRecorded: false, token, (backlog, stop) =>
        {
            var load = new LoadGenerator(options, app.Port, prefix, backlog);
            return (load.SetSteadyWindow, Summarize(load.RunAsync(stop, token)));

            static async Task<DoorLoad> Summarize(Task<IReadOnlyList<LoadGenerator.ClientStats>> running)
            {
                var stats = await running;
                return new DoorLoad(stats.Sum(s => s.AcceptedSteady), stats.Sum(s => s.AcceptedTotal), stats.SelectMany(s => s.SteadyRequestMs).Order().ToArray(),
                    stats.SelectMany(s => s.Failures).GroupBy(f => f.Key).Select(g => $"{g.Sum(f => f.Value)} x {(g.Key < 0 ? "transport" : g.Key.ToString(CultureInfo.InvariantCulture))}"));
            }
        });

    /// <summary>What a door's load generator reports when stopped.</summary>
    private sealed record DoorLoad(long AcceptedSteady, long AcceptedTotal, double[] AckMs, IEnumerable<string> Failures);

    /// <summary>One door: its load (started by <paramref name="start"/>), warm-up, steady phase, stop, drain and latency.</summary>
    private static async Task<DoorResult> RunDoorAsync(string door, BenchmarkOptions options, AppProcess app, NpgsqlDataSource db, string bootstrap, string prefix, int? postmaster, bool sinceRecorded,
        CancellationToken token, Func<BacklogMonitor?, CancellationToken, (Action<long, long> SetSteadyWindow, Task<DoorLoad> Running)> start)
    {
        var backlog = options.MaxBacklog > 0 ? new BacklogMonitor(bootstrap) : null;
        try
        {
            using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(token);
            var (setSteadyWindow, running) = start(backlog, stopLoad.Token);
            Console.WriteLine($"  {door} door: warm-up {options.Warmup.TotalSeconds:0} s...");
            await Task.Delay(options.Warmup, token);
            var steadyStart = Stopwatch.GetTimestamp();
            setSteadyWindow(steadyStart, steadyStart + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency));
            Console.WriteLine($"  {door} door: steady {options.Duration.TotalSeconds:0} s...");
            var phase = await Phase.MeasureAsync(door, app, postmaster, options.Duration, token);
            await stopLoad.CancelAsync();
            var load = await running;
            return await FinishAsync(door, options, db, prefix, phase, load.AcceptedSteady, load.AcceptedTotal, load.AckMs, string.Join(", ", load.Failures), sinceRecorded, token);
        }
        finally
        {
            if (backlog is not null)
            {
                await backlog.DisposeAsync();
            }
        }
    }

    /// <summary>Counts what the steady phase calibrated, drains the door's readings, and reads their latency.</summary>
    private static async Task<DoorResult> FinishAsync(string door, BenchmarkOptions options, NpgsqlDataSource db, string prefix, Phase phase, long acceptedSteady, long acceptedTotal,
        double[] ackMs, string failures, bool sinceRecorded, CancellationToken token)
    {
        var measurements = new Measurements(db, prefix);
        var (calibrated, _) = await measurements.CalibratedInWindowAsync(phase.From, phase.To, token);
        Console.WriteLine($"  {door} door: draining (every acknowledged reading stored, the steady phase's calibrated)...");
        var drain = Stopwatch.StartNew();
        long raw;
        long uncalibrated;
        while (((raw = await measurements.RawRowsAsync(token)) < acceptedTotal |
                (uncalibrated = await measurements.UncalibratedAsync(phase.From, phase.To, token)) > 0) &&
               drain.Elapsed < options.DrainTimeout)
        {
            await Task.Delay(1000, token);
        }

        var latency = await measurements.LatencyAsync(phase.From, phase.To, token);
        var sincePublish = sinceRecorded ? await measurements.LatencyAsync(phase.From, phase.To, token, sinceRecorded: true) : null;
        return new DoorResult(door, phase, acceptedSteady, acceptedTotal, calibrated, raw, uncalibrated, latency, sincePublish, ackMs, failures.Length == 0 ? "none" : failures);
    }

    private static void Both(string what, string mqtt, string http, string note) => Console.WriteLine($"  {what,-44} {mqtt,26} {http,26}  {note}");

    private static string PerSecond(long readings, Phase phase) => $"{readings / phase.Seconds:N0} /s";

    private static string Load(Phase phase) => phase.LoadStart.Split(' ')[0] + " / " + phase.LoadEnd.Split(' ')[0];

    private static string Ms(double value) => double.IsNaN(value) ? "-" : $"{value:N0} ms";

    private static string Num(double value) => double.IsNaN(value) ? "-1" : value.ToString("0", CultureInfo.InvariantCulture);

    private static string Pair(double[] sorted) => sorted.Length == 0 ? "-" : $"{Percentile(sorted, 0.5):N1} / {Percentile(sorted, 0.99):N1} ms";

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string Lost(DoorResult r) => r.RawRows < r.AcceptedTotal ? $"{r.Door}: {r.AcceptedTotal - r.RawRows:N0} MISSING" : $"{r.Door}: none lost";

    private static string CpuPer1000(DoorResult r) => $"{r.Phase.AppCpu / Math.Max(1, r.Calibrated) * 1e6:N1} ms";

    private static string PgPer1000(DoorResult r) => $"{r.Phase.PgCpu / Math.Max(1, r.Calibrated) * 1e6:N1} ms";
}
