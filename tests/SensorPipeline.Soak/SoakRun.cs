using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using Npgsql;
using SensorPipeline.Runtime.Embedded;

namespace SensorPipeline.Soak;

/// <summary>
/// Starts PostgreSQL and the mock Kafka cluster here, the app as a child process, posts readings at
/// a steady rate, and at random intervals takes the database down, takes the broker down, kills the
/// app (kill -9) and restarts it, or injects an undecodable message. Then it waits for the pipeline
/// to settle and checks every acknowledged reading: stored raw once, calibrated once.
/// </summary>
internal static class SoakRun
{
    private static readonly string[] Topics = ["temperature.raw", "temperature.calibration.realtime", "temperature.calibration.historical"];

    public static async Task<int> RunAsync(int seconds, int rate, int seed, string? appPath, CancellationToken cancellationToken)
    {
        var dll = appPath ?? FindApp();
        var random = new Random(seed);
        Console.WriteLine($"soak: {seconds} s at {rate} readings/s, seed {seed}, app {dll}");
        await using var postgres = await EmbeddedPostgres.StartAsync(cancellationToken: cancellationToken);
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        foreach (var topic in Topics)
        {
            kafka.CreateTopic(topic, 4);
            kafka.CreateTopic(topic + ".deadletter", 1);
        }

        var port = FreePort();
        var app = new AppProcess(dll, port, postgres.ConnectionString, kafka.BootstrapServers);
        app.Start();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await app.WaitReadyAsync(http, cancellationToken);

        var accepted = new ConcurrentDictionary<(string, long), byte>();
        var counters = new Counters();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var posting = PostAsync(http, rate, accepted, counters, stop.Token);
        var faults = new List<string>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds) && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(random.Next(15, 35)), cancellationToken);
            if (clock.Elapsed >= TimeSpan.FromSeconds(seconds))
            {
                break;
            }

            var outage = TimeSpan.FromSeconds(random.Next(3, 9));
            var fault = random.Next(4);
            var at = $"{clock.Elapsed.TotalSeconds,6:0}s";
            switch (fault)
            {
                case 0:
                    Log(faults, $"{at} database down for {outage.TotalSeconds:0} s");
                    await postgres.StopServerAsync(cancellationToken);
                    await Task.Delay(outage, cancellationToken);
                    await postgres.StartServerAsync(cancellationToken);
                    break;
                case 1:
                    Log(faults, $"{at} broker down for {outage.TotalSeconds:0} s");
                    kafka.SetBrokerDown(1);
                    await Task.Delay(outage, cancellationToken);
                    kafka.SetBrokerUp(1);
                    break;
                case 2:
                    Log(faults, $"{at} app killed (kill -9), restarted after 2 s");
                    app.Kill();
                    await Task.Delay(2000, cancellationToken);
                    app.Start();
                    await app.WaitReadyAsync(http, cancellationToken);
                    break;
                default:
                    Log(faults, $"{at} undecodable message injected into temperature.raw");
                    using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
                    {
                        await producer.ProduceAsync("temperature.raw", new Message<byte[], byte[]> { Key = "poison"u8.ToArray(), Value = Encoding.UTF8.GetBytes("{\"not\": \"a reading\"") }, cancellationToken);
                    }

                    break;
            }
        }

        await stop.CancelAsync();
        await posting;
        Console.WriteLine($"soak: load stopped after {clock.Elapsed.TotalSeconds:0} s: {accepted.Count} readings acknowledged (202), {counters.Unavailable} requests answered 503, {counters.Failed} failed to connect");

        // Let the pipeline settle: the reconcile timer repairs readings stored but never published.
        await using var db = NpgsqlDataSource.Create(postgres.ConnectionString);
        var settle = Stopwatch.StartNew();
        (long Missing, long Uncalibrated) state = (-1, -1);
        while (settle.Elapsed < TimeSpan.FromMinutes(4))
        {
            state = await CheckAsync(db, accepted.Keys, cancellationToken);
            if (state.Missing == 0 && state.Uncalibrated == 0)
            {
                break;
            }

            await Task.Delay(2000, cancellationToken);
        }

        var raw = await ScalarAsync(db, "select count(*) from raw_data");
        var calibrated = await ScalarAsync(db, "select count(*) from calibrated_temperature");
        var duplicates = await ScalarAsync(db, "select count(*) from (select sensor_id, recorded_at from calibrated_temperature group by 1, 2 having count(*) > 1) d");
        app.Kill();
        Console.WriteLine();
        Console.WriteLine("faults injected:");
        faults.ForEach(f => Console.WriteLine("  " + f));
        Console.WriteLine();
        Console.WriteLine($"acknowledged readings        {accepted.Count}");
        Console.WriteLine($"raw rows                     {raw}");
        Console.WriteLine($"calibrated rows              {calibrated}");
        Console.WriteLine($"acknowledged but not raw     {state.Missing}");
        Console.WriteLine($"raw but not calibrated       {state.Uncalibrated}");
        Console.WriteLine($"duplicated calibrated rows   {duplicates}");
        Console.WriteLine($"settled in                   {settle.Elapsed.TotalSeconds:0} s");
        var ok = state.Missing == 0 && state.Uncalibrated == 0 && duplicates == 0 && raw == calibrated;
        Console.WriteLine($"SOAK {(ok ? "PASSED" : "FAILED")} acknowledged={accepted.Count} lost={state.Missing} uncalibrated={state.Uncalibrated} duplicated={duplicates} faults={faults.Count}");
        return ok ? 0 : 1;
    }

    private sealed class Counters
    {
        public int Unavailable;
        public int Failed;
    }

    private static async Task PostAsync(HttpClient http, int rate, ConcurrentDictionary<(string, long), byte> accepted, Counters counters, CancellationToken stop)
    {
        const int Batch = 50;
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var next = 0L;
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            var readings = Enumerable.Range(0, Batch).Select(_ => next++).Select(i => (Sensor: $"soak-{i % 200:000}", Ticks: start.AddMilliseconds(i * 10).UtcTicks)).ToList();
            var body = "[" + string.Join(",", readings.Select(r =>
                $"{{\"sensorId\":\"{r.Sensor}\",\"recordedAt\":\"{new DateTimeOffset(r.Ticks, TimeSpan.Zero):O}\",\"value\":{20 + r.Ticks % 100 / 10.0:0.0}}}")) + "]";
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await http.PostAsync("/api/readings", content, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    foreach (var r in readings)
                    {
                        accepted[(r.Sensor, r.Ticks)] = 0;
                    }
                }
                else
                {
                    Interlocked.Increment(ref counters.Unavailable);
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref counters.Failed);
                await Task.Delay(200, CancellationToken.None);
            }

            var due = TimeSpan.FromSeconds((double)next / rate) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static async Task<(long Missing, long Uncalibrated)> CheckAsync(NpgsqlDataSource db, ICollection<(string Sensor, long Ticks)> accepted, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = db.CreateCommand("""
                select count(*) filter (where r.id is null), count(*) filter (where r.id is not null and c.raw_data_id is null)
                  from unnest($1::text[], $2::timestamptz[]) a(sensor_id, recorded_at)
                  left join raw_data r on r.sensor_id = a.sensor_id and r.recorded_at = a.recorded_at
                  left join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = accepted.Select(a => a.Sensor).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = accepted.Select(a => new DateTime(a.Ticks, DateTimeKind.Utc)).ToArray() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
        catch (NpgsqlException)
        {
            return (-1, -1);
        }
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static void Log(List<string> faults, string fault)
    {
        faults.Add(fault);
        Console.WriteLine("soak: " + fault);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindApp()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var configuration in new[] { "Release", "Debug" })
            {
                var candidate = Path.Combine(dir.FullName, "functions", "bin", configuration, "net10.0", "SensorPipeline.Functions.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException("SensorPipeline.Functions.dll not found: build it (dotnet build -c Release) or pass --app.");
    }
}

/// <summary>The app as a child process, so it can be killed like a crashed pod.</summary>
internal sealed class AppProcess(string dll, int port, string database, string kafka)
{
    private Process? _process;

    public void Start()
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "start", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["TimescaleConnection"] = database;
        start.Environment["KafkaBrokerList"] = kafka;
        start.Environment["KafkaGroupProtocol"] = "consumer";
        start.Environment["ReconcileSchedule"] = "*/5 * * * * *";
        start.Environment["ReconcileGracePeriod"] = "00:00:20";
        start.Environment["AzureFunctionsJobHost__extensions__kafka__messageTimeoutMs"] = "5000";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the app");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public async Task WaitReadyAsync(HttpClient http, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 120; i++)
        {
            try
            {
                using var response = await http.GetAsync("/health/ready", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(500, cancellationToken);
        }

        throw new InvalidOperationException("the app did not become ready");
    }

    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }
}
