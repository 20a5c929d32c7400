using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// <c>--scenario backfill</c>: does a recalibration backfill delay new readings? Seeds old raw
/// readings (not measured), then one steady realtime load runs throughout: phase A measures
/// realtime end-to-end latency without a backfill, then a recalibration job over every seeded
/// reading is started (<c>POST /api/recalibrations</c>) and phase B measures the same latency,
/// for the same duration, while the job runs, plus the job's rate. Realtime readings and history
/// readings have different sensor ids, so each is measured alone.
/// </summary>
internal static class BackfillScenario
{
    /// <summary>History readings are this far apart per sensor.</summary>
    private static readonly TimeSpan HistoryStep = TimeSpan.FromSeconds(10);

    private sealed record JobRow(string State, long Total, long Published, DateTime CreatedAt, DateTime? FinishedAt);

    public static async Task<int> RunAsync(
        BenchmarkOptions options,
        AppProcess app,
        NpgsqlDataSource db,
        string bootstrap,
        string runId,
        string sensorPrefix,
        int? postmaster,
        CancellationToken token)
    {
        var historyPrefix = $"history-{runId}-";
        var perSensor = (options.HistoryReadings + options.HistorySensors - 1) / options.HistorySensors;
        // Entirely before the realtime readings (which start 30 days ago) and older than
        // ReconcileLookback (7 days), so the reconcile timer never resends them.
        var historyTo = DateTime.UtcNow.Date.AddDays(-31);
        var historyFrom = historyTo - HistoryStep * (perSensor + 1);
        Console.WriteLine($"  backfill scenario: {options.HistoryReadings:N0} history readings of {options.HistorySensors:N0} sensors ({historyPrefix}*), recorded {historyFrom:yyyy-MM-dd HH:mm} to {historyTo:yyyy-MM-dd HH:mm} UTC; realtime {options.Rate:N0} readings/s from {options.Sensors} sensors in batches of {options.BatchSize}");
        await SeedAsync(db, options, historyPrefix, historyFrom, token);

        var realtime = new Measurements(db, sensorPrefix);
        var history = new Measurements(db, historyPrefix);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{app.Port}/"), Timeout = TimeSpan.FromSeconds(60) };
        var backlog = options.MaxBacklog > 0 ? new BacklogMonitor(bootstrap) : null;
        try
        {
            // One steady realtime load for both phases.
            var load = new LoadGenerator(options, app.Port, sensorPrefix, backlog);
            using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(token);
            var clients = load.RunAsync(stopLoad.Token, token);
            Console.WriteLine($"  warm-up {options.Warmup.TotalSeconds:0} s (realtime load only)...");
            await Task.Delay(options.Warmup, token);
            var steadyStart = Stopwatch.GetTimestamp();
            load.SetSteadyWindow(steadyStart, long.MaxValue);

            Console.WriteLine($"  phase A: realtime load without a backfill, {options.Duration.TotalSeconds:0} s...");
            var phaseA = await Phase.MeasureAsync("A", app, postmaster, options.Duration, token);

            Console.WriteLine($"  phase B: POST /api/recalibrations from {historyFrom:O} to {historyTo:O} (every sensor)...");
            var posted = Stopwatch.StartNew();
            long jobId;
            using (var response = await http.PostAsJsonAsync("api/recalibrations", new { from = historyFrom.ToString("O", CultureInfo.InvariantCulture), to = historyTo.ToString("O", CultureInfo.InvariantCulture) }, token))
            {
                var body = await response.Content.ReadAsStringAsync(token);
                if ((int)response.StatusCode != 202)
                {
                    throw new InvalidOperationException($"POST /api/recalibrations answered {(int)response.StatusCode}: {body}");
                }

                using var json = JsonDocument.Parse(body);
                jobId = json.RootElement.GetProperty("id").GetInt64();
                Console.WriteLine($"    job {jobId}: 202 in {posted.Elapsed.TotalMilliseconds:N0} ms, total {json.RootElement.GetProperty("total").GetInt64():N0}");
            }

            // Phase B starts when the job is actually producing (the producer's timer claims it
            // within RecalibrationSchedule, 5 s by default), so every measured second has it running.
            JobRow job;
            while ((job = await ReadJobAsync(db, jobId, token)).Published == 0 && job.State == "running" && posted.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100, token);
            }

            Console.WriteLine($"    producing after {posted.Elapsed.TotalSeconds:0.0} s (published {job.Published:N0}, state {job.State}); realtime load with the backfill, {options.Duration.TotalSeconds:0} s...");
            var publishedAtB = job.Published;
            var phaseB = await Phase.MeasureAsync("B", app, postmaster, options.Duration, token);
            var jobAtBEnd = await ReadJobAsync(db, jobId, token);

            await stopLoad.CancelAsync();
            var stats = await clients;

            // Drain the realtime readings of both phases (the job runs on meanwhile, unmeasured).
            Console.WriteLine("  draining the realtime readings...");
            var drain = Stopwatch.StartNew();
            long uncalibrated;
            while ((uncalibrated = await realtime.UncalibratedAsync(phaseA.From, phaseB.To, token)) > 0 && drain.Elapsed < options.DrainTimeout)
            {
                await Task.Delay(1000, token);
            }

            var latencyA = await realtime.LatencyAsync(phaseA.From, phaseA.To, token);
            var latencyB = await realtime.LatencyAsync(phaseB.From, phaseB.To, token);
            var (historyInB, historyBuckets) = await history.CalibratedInWindowAsync(phaseB.From, phaseB.To, token);
            var (realtimeInB, realtimeBuckets) = await realtime.CalibratedInWindowAsync(phaseB.From, phaseB.To, token);
            var p99ByBucket = await RealtimeP99ByBucketAsync(db, sensorPrefix, phaseB.From, phaseB.To, token);
            // Let the job run on (without realtime load) to report its full rate, bounded.
            Console.WriteLine($"  letting job {jobId} finish (at most {options.BackfillTimeout.TotalSeconds:0} s more)...");
            var runOn = Stopwatch.StartNew();
            while ((job = await ReadJobAsync(db, jobId, token)).State is "running" or "draining" && runOn.Elapsed < options.BackfillTimeout)
            {
                await Task.Delay(1000, token);
            }

            var (done, firstAt, lastAt) = await RecalculatedAsync(db, historyPrefix, job.CreatedAt, token);
            var (alone, _, aloneLast) = await RecalculatedAsync(db, historyPrefix, phaseB.To, token);
            // The rate while the job ran in phase B: a job that finishes before the phase ends is
            // not averaged over the idle rest of it.
            var activeFrom = firstAt is { } jobFirst && jobFirst > phaseB.From ? jobFirst : phaseB.From;
            var activeTo = lastAt is { } jobLast && jobLast < phaseB.To ? jobLast : phaseB.To;
            var activeSeconds = Math.Max(1.0, (activeTo - activeFrom).TotalSeconds);
            var backfillPerSecond = historyInB / activeSeconds;
            var getWatch = Stopwatch.StartNew();
            var view = await http.GetStringAsync(new Uri($"api/recalibrations/{jobId}", UriKind.Relative), token);
            var getMs = getWatch.Elapsed.TotalMilliseconds;
            var appExitedEarly = app.HasExited;

            // Report.
            var failures = stats.SelectMany(s => s.Failures).GroupBy(f => f.Key).ToDictionary(g => g.Key, g => g.Sum(f => f.Value));
            Console.WriteLine();
            Console.WriteLine($"Results: realtime {options.Rate:N0} readings/s ({options.Sensors} sensors, batches of {options.BatchSize}); backfill of {options.HistoryReadings:N0} readings{(options.HistoryCalibrated ? " (overwriting calibrated rows)" : "")}; {Environment.ProcessorCount} cores");
            Console.WriteLine();
            Console.WriteLine($"  {"",-40} {"A: without",16} {"B: with backfill",18}");
            Both("phase window", $"{phaseA.Seconds:0.0} s", $"{phaseB.Seconds:0.0} s", "");
            Both("load average at start / end", phaseA.LoadStart.Split(' ')[0] + " / " + phaseA.LoadEnd.Split(' ')[0], phaseB.LoadStart.Split(' ')[0] + " / " + phaseB.LoadEnd.Split(' ')[0], "1-minute load average");
            Both("machine CPU busy", $"{phaseA.MachineBusy:P0}", $"{phaseB.MachineBusy:P0}", $"of {Environment.ProcessorCount} cores");
            Both("realtime readings received / calibrated", $"{latencyA.Readings:N0} / {latencyA.Calibrated:N0}", $"{latencyB.Readings:N0} / {latencyB.Calibrated:N0}", uncalibrated > 0 ? $"{uncalibrated:N0} still uncalibrated after a {options.DrainTimeout.TotalSeconds:0} s drain" : "all calibrated");
            Both("realtime e2e latency p50", $"{latencyA.P50Ms:N0} ms", $"{latencyB.P50Ms:N0} ms", "calibrated_at - received_at, realtime sensors only");
            Both("realtime e2e latency p95", $"{latencyA.P95Ms:N0} ms", $"{latencyB.P95Ms:N0} ms", "");
            Both("realtime e2e latency p99", $"{latencyA.P99Ms:N0} ms", $"{latencyB.P99Ms:N0} ms", $"ratio B/A {latencyB.P99Ms / latencyA.P99Ms:0.00} (target <= 1.5)");
            Both("realtime e2e latency max", $"{latencyA.MaxMs:N0} ms", $"{latencyB.MaxMs:N0} ms", "");
            Both("backfill recalculated", "-", $"{backfillPerSecond:N0} /s", $"{historyInB:N0} history rows with calibrated_at in phase B over the {activeSeconds:0.0} s the job ran in it (target >= 50,000/s)");
            Both("backfill published", "-", $"{(jobAtBEnd.Published - publishedAtB) / phaseB.Seconds:N0} /s", $"job's published count {publishedAtB:N0} -> {jobAtBEnd.Published:N0} over phase B");
            Both("app CPU", $"{phaseA.AppCpu / phaseA.Seconds:0.00} cores", $"{phaseB.AppCpu / phaseB.Seconds:0.00} cores", "");
            Both("PostgreSQL CPU", postmaster is null ? "-" : $"{phaseA.PgCpu / phaseA.Seconds:0.00} cores", postmaster is null ? "-" : $"{phaseB.PgCpu / phaseB.Seconds:0.00} cores", "");
            Console.WriteLine();
            var jobSeconds = lastAt is { } last ? (last - job.CreatedAt).TotalSeconds : double.NaN;
            Row("job state", job.State, job.FinishedAt is { } f ? $"finished {(f - job.CreatedAt).TotalSeconds:0.0} s after creation (set by the producer's timer)" : $"not finished {options.BackfillTimeout.TotalSeconds:0} s after phase B");
            Row("job recalculated in all", $"{done:N0} / {job.Total:N0}", lastAt is null ? "" : $"first {(firstAt!.Value - job.CreatedAt).TotalSeconds:0.0} s, last {jobSeconds:0.0} s after creation (phase B with realtime load, then alone)");
            Row("job rate, creation to last row", double.IsNaN(jobSeconds) ? "-" : $"{done / jobSeconds:N0} /s", "");
            Row("job rate after phase B (no realtime load)", aloneLast is { } al && alone > 0 ? $"{alone / Math.Max(0.001, (al - phaseB.To).TotalSeconds):N0} /s" : "-", aloneLast is null ? "" : $"{alone:N0} rows in {(aloneLast.Value - phaseB.To).TotalSeconds:0.0} s");
            Row("GET /api/recalibrations/{id}", $"{getMs:N0} ms", view.Length > 200 ? view[..200] + "..." : view);
            Row("HTTP failures", failures.Count == 0 ? "none" : string.Join(", ", failures.Select(x => $"{x.Value} x {(x.Key < 0 ? "transport" : x.Key.ToString(CultureInfo.InvariantCulture))}")), "");
            Row("app peak RSS", $"{Math.Max(ProcStats.StatusMb(app.Pid, "VmHWM") ?? 0, app.MaxSampledRssMb):N0} MB", "");
            if (appExitedEarly)
            {
                Console.WriteLine("WARNING: the app exited during the run; see its log.");
            }

            Console.WriteLine();
            Console.WriteLine("  phase B per 5 s: realtime calibrated/s, realtime p99 (by received_at), backfill recalculated/s");
            for (var b = 0; b < (int)Math.Ceiling(phaseB.Seconds / 5); b++)
            {
                Console.WriteLine($"    {b * 5,4}-{b * 5 + 5,-4} s  {realtimeBuckets.GetValueOrDefault(b) / 5.0,8:N0}  {p99ByBucket.GetValueOrDefault(b, double.NaN),8:N0} ms  {historyBuckets.GetValueOrDefault(b) / 5.0,10:N0}");
            }

            Console.WriteLine();
            Console.WriteLine($"  realtime p99 with / without backfill: {latencyB.P99Ms / latencyA.P99Ms:0.00} ({(latencyB.P99Ms <= 1.5 * latencyA.P99Ms ? "<= 1.5: met" : "> 1.5: NOT met")}); backfill {backfillPerSecond:N0} readings/s ({(backfillPerSecond >= 50_000 ? ">= 50,000: met" : "< 50,000: NOT met")})");
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT_BACKFILL rt_p50_ms={Ms(latencyA.P50Ms)}/{Ms(latencyB.P50Ms)} rt_p95_ms={Ms(latencyA.P95Ms)}/{Ms(latencyB.P95Ms)} rt_p99_ms={Ms(latencyA.P99Ms)}/{Ms(latencyB.P99Ms)} p99_ratio={latencyB.P99Ms / latencyA.P99Ms:0.00} backfill_per_s={backfillPerSecond:0}"));
            return appExitedEarly ? 1 : 0;
        }
        finally
        {
            if (backlog is not null)
            {
                await backlog.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Old raw readings by binary COPY (interleaved by time, as they would have arrived), received
    /// long ago; optionally a calibrated row for each (version 0, calibrated when received); then
    /// VACUUM ANALYZE, as an old table would be. Not measured.
    /// </summary>
    private static async Task SeedAsync(NpgsqlDataSource db, BenchmarkOptions options, string prefix, DateTime from, CancellationToken token)
    {
        var watch = Stopwatch.StartNew();
        var sensors = Enumerable.Range(0, options.HistorySensors).Select(i => $"{prefix}{i:D5}").ToArray();
        await using var connection = await db.OpenConnectionAsync(token);
        await using (var import = await connection.BeginBinaryImportAsync(
            "copy raw_data (sensor_id, recorded_at, raw_value, received_at, source) from stdin (format binary)", token))
        {
            for (var i = 0; i < options.HistoryReadings; i++)
            {
                var n = i / sensors.Length;
                var recorded = from + HistoryStep * n;
                await import.StartRowAsync(token);
                await import.WriteAsync(sensors[i % sensors.Length], NpgsqlDbType.Text, token);
                await import.WriteAsync(recorded, NpgsqlDbType.TimestampTz, token);
                await import.WriteAsync(Math.Round(20 + 10 * Math.Sin(n / 600.0) + (i % 7) * 0.13, 2), NpgsqlDbType.Double, token);
                await import.WriteAsync(recorded.AddSeconds(1), NpgsqlDbType.TimestampTz, token);
                await import.WriteAsync("benchmark-history", NpgsqlDbType.Text, token);
            }

            await import.CompleteAsync(token);
        }

        Console.WriteLine($"    seeded {options.HistoryReadings:N0} raw readings by binary COPY in {watch.Elapsed.TotalSeconds:0.0} s");
        if (options.HistoryCalibrated)
        {
            var calibrated = Stopwatch.StartNew();
            await using var insert = new NpgsqlCommand("""
                insert into calibrated_temperature (raw_data_id, recorded_at, sensor_id, value, calibration_version, calibrated_at)
                select id, recorded_at, sensor_id, raw_value, 0, received_at from raw_data where sensor_id like $1
                """, connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = prefix + "%" });
            insert.CommandTimeout = 900;
            var rows = await insert.ExecuteNonQueryAsync(token);
            Console.WriteLine($"    seeded {rows:N0} calibrated rows (version 0, calibrated long ago) in {calibrated.Elapsed.TotalSeconds:0.0} s");
        }

        await using (var vacuum = new NpgsqlCommand("vacuum (analyze) raw_data, calibrated_temperature", connection))
        {
            vacuum.CommandTimeout = 900;
            await vacuum.ExecuteNonQueryAsync(token);
        }

        Console.WriteLine($"    seeding done in {watch.Elapsed.TotalSeconds:0.0} s (vacuum analyze included; not measured)");
    }

    private static async Task<JobRow> ReadJobAsync(NpgsqlDataSource db, long id, CancellationToken token)
    {
        // The job's own row only (by primary key): cheap, unlike the API's live counts.
        await using var command = db.CreateCommand("select state, total, published, created_at, finished_at from recalibration_job where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(token);
        await reader.ReadAsync(token);
        return new JobRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDateTime(3), reader.IsDBNull(4) ? null : reader.GetDateTime(4));
    }

    /// <summary>History rows recalculated since the job was created, and when the first and last were.</summary>
    private static async Task<(long Count, DateTime? First, DateTime? Last)> RecalculatedAsync(NpgsqlDataSource db, string prefix, DateTime since, CancellationToken token)
    {
        await using var command = db.CreateCommand("select count(*), min(calibrated_at), max(calibrated_at) from calibrated_temperature where sensor_id like $1 and calibrated_at >= $2");
        command.Parameters.Add(new NpgsqlParameter { Value = prefix + "%" });
        command.Parameters.Add(new NpgsqlParameter { Value = since, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.CommandTimeout = 600;
        await using var reader = await command.ExecuteReaderAsync(token);
        await reader.ReadAsync(token);
        return (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetDateTime(1), reader.IsDBNull(2) ? null : reader.GetDateTime(2));
    }

    /// <summary>Realtime p99 per 5 s of received_at in the window: when in phase B latency rose.</summary>
    private static async Task<Dictionary<int, double>> RealtimeP99ByBucketAsync(NpgsqlDataSource db, string prefix, DateTime from, DateTime to, CancellationToken token)
    {
        await using var command = db.CreateCommand("""
            select floor(extract(epoch from r.received_at - $1) / 5)::int,
                   percentile_cont(0.99) within group (order by extract(epoch from c.calibrated_at - r.received_at) * 1000)
              from raw_data r
              join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
             where r.received_at >= $1 and r.received_at < $2 and r.sensor_id like $3
             group by 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = prefix + "%" });
        command.CommandTimeout = 600;
        var result = new Dictionary<int, double>();
        await using var reader = await command.ExecuteReaderAsync(token);
        while (await reader.ReadAsync(token))
        {
            result[reader.GetInt32(0)] = reader.GetDouble(1);
        }

        return result;
    }

    private static void Both(string what, string a, string b, string note) => Console.WriteLine($"  {what,-40} {a,16} {b,18}  {note}");

    private static void Row(string what, string value, string note) => Console.WriteLine($"  {what,-40} {value,16}  {note}");

    private static string Ms(double value) => double.IsNaN(value) ? "-1" : value.ToString("0", CultureInfo.InvariantCulture);
}
