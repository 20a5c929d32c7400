using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// Simulated sensors posting batches over HTTP: each request is one sensor's next
/// <c>batch</c> readings (sensors taken round-robin, like gateways that buffer a sensor's samples),
/// sent by <c>clients</c> concurrent clients, flat out or on a shared schedule for a target rate.
/// Readings are unique per (sensor, time), so every one is a new raw row.
/// </summary>
internal sealed class LoadGenerator
{
    private readonly BenchmarkOptions _options;
    private readonly Uri _url;
    private readonly string[] _sensorIds;
    private readonly long[] _sensorCounters;
    private readonly DateTimeOffset _baseTime;
    private long _nextSensor = -1;
    private long _steadyStart = long.MaxValue;
    private long _steadyEnd = long.MaxValue;

    private readonly BacklogMonitor? _backlog;

    public LoadGenerator(BenchmarkOptions options, int port, string sensorPrefix, BacklogMonitor? backlog)
    {
        _backlog = backlog;
        _options = options;
        _url = new Uri($"http://127.0.0.1:{port}/api/readings");
        _sensorIds = Enumerable.Range(0, options.Sensors).Select(i => $"{sensorPrefix}{i:D6}").ToArray();
        _sensorCounters = new long[options.Sensors];
        // In the past, a millisecond apart per sensor: never "in the future", never a duplicate.
        _baseTime = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(-30), TimeSpan.Zero);
    }

    public sealed class ClientStats
    {
        public long AcceptedTotal;
        public long AcceptedSteady;
        public long RequestsSteady;
        public Dictionary<int, long> Failures { get; } = [];
        public List<double> SteadyRequestMs { get; } = [];
        /// <summary>Accepted readings per 5-second bucket from the start of the steady phase.</summary>
        public Dictionary<int, long> AcceptedByBucket { get; } = [];
    }

    /// <summary>Marks the steady phase (Stopwatch timestamps); responses completed inside it count.</summary>
    public void SetSteadyWindow(long start, long end)
    {
        Volatile.Write(ref _steadyStart, start);
        Volatile.Write(ref _steadyEnd, end);
    }

    /// <summary>Runs the clients until <paramref name="stop"/> (in-flight requests finish) or the reading cap.</summary>
    public async Task<IReadOnlyList<ClientStats>> RunAsync(CancellationToken stop, CancellationToken abort)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = _options.Clients,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var pacer = new LoadPacer(_options, _options.BatchSize, _backlog);
        var clients = Enumerable.Range(0, _options.Clients).Select(_ => Task.Run(() => ClientAsync(http, pacer, stop, abort), abort)).ToArray();
        return await Task.WhenAll(clients);
    }

    private async Task<ClientStats> ClientAsync(HttpClient http, LoadPacer pacer, CancellationToken stop, CancellationToken abort)
    {
        var stats = new ClientStats();
        var buffer = new ArrayBufferWriter<byte>(_options.BatchSize * 96);
        var retrying = false;
        while (!stop.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            if (!await pacer.NextAsync(scheduled: true, stop))
            {
                break;
            }

            // A batch the app refused with 503 is sent again, as a gateway would, after the
            // Retry-After it was given (at most a second): a refusal is not a reading generated.
            if (!retrying)
            {
                WriteBatch(buffer);
            }

            using var content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var sent = Stopwatch.GetTimestamp();
            int status;
            var retryAfter = TimeSpan.Zero;
            try
            {
                using var response = await http.PostAsync(_url, content, abort);
                status = (int)response.StatusCode;
                if (status == 503)
                {
                    retryAfter = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(100);
                }
            }
            catch (HttpRequestException)
            {
                status = -1;
            }
            catch (TaskCanceledException) when (!abort.IsCancellationRequested)
            {
                status = -2;
            }

            var done = Stopwatch.GetTimestamp();
            var steady = done >= Volatile.Read(ref _steadyStart) && done < Volatile.Read(ref _steadyEnd);
            if (status == 202)
            {
                stats.AcceptedTotal += _options.BatchSize;
                if (steady)
                {
                    stats.AcceptedSteady += _options.BatchSize;
                    var bucket = (int)(Stopwatch.GetElapsedTime(_steadyStart, done).TotalSeconds / 5);
                    stats.AcceptedByBucket[bucket] = stats.AcceptedByBucket.GetValueOrDefault(bucket) + _options.BatchSize;
                }
            }
            else
            {
                stats.Failures[status] = stats.Failures.GetValueOrDefault(status) + 1;
            }

            if (steady)
            {
                stats.RequestsSteady++;
                stats.SteadyRequestMs.Add(Stopwatch.GetElapsedTime(sent, done).TotalMilliseconds);
            }

            retrying = status == 503;
            if (retrying)
            {
                // The same readings are sent again: give back the reading count taken above.
                pacer.GiveBack();
                try
                {
                    await Task.Delay(retryAfter < TimeSpan.FromSeconds(1) ? retryAfter : TimeSpan.FromSeconds(1), stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        return stats;
    }

    private void WriteBatch(ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        var sensor = (int)(Interlocked.Increment(ref _nextSensor) % _sensorIds.Length);
        var first = Interlocked.Add(ref _sensorCounters[sensor], _options.BatchSize) - _options.BatchSize;
        var id = _sensorIds[sensor];
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartArray();
        for (var i = 0; i < _options.BatchSize; i++)
        {
            var n = first + i;
            writer.WriteStartObject();
            writer.WriteString("sensorId", id);
            writer.WriteString("recordedAt", _baseTime.AddMilliseconds(n));
            // A plausible temperature with two decimals.
            writer.WriteNumber("value", Math.Round(20 + 10 * Math.Sin(n / 600.0) + (n % 7) * 0.13, 2));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}
