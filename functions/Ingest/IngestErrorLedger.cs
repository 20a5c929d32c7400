using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Ingest;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// The doors hand refused payloads here; it never blocks and never throws, so a refusal's answer
/// never waits for the database. Per source (device id, key, or remote address) a token bucket of
/// <c>IngestErrorRatePerMinute</c> (refilled continuously, as deep as one minute's rate), and one
/// for all sources together twenty times as deep (so made-up sources cannot fill the database
/// either): a refusal within both is queued for <see cref="IngestErrorWriter"/>; beyond them, or
/// when the queue is full, it is counted (metric, and <c>notStored</c>), not stored.
/// </summary>
public sealed class IngestErrorLedger
{
    /// <summary>Refusals waiting to be written; beyond it they are counted, not stored.</summary>
    public const int QueueCapacity = 4096;

    /// <summary>Sources remembered; beyond it refusals from new sources are counted, not stored (until the buckets are swept).</summary>
    public const int MaxSources = 10_000;

    private readonly Channel<IngestRefusal> _queue = Channel.CreateBounded<IngestRefusal>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly ConcurrentDictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _notStored = new(StringComparer.Ordinal);
    private readonly TokenBucket _all;
    private readonly int _ratePerMinute;
    private readonly TimeProvider _time;

    public IngestErrorLedger(IOptions<PipelineOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _ratePerMinute = options.Value.IngestErrorRatePerMinute;
        _time = time;
        _all = new TokenBucket(_ratePerMinute * 20, time.GetTimestamp());
    }

    internal ChannelReader<IngestRefusal> Queue => _queue.Reader;

    /// <summary>Records a refusal: queued for the ledger when its source is within its rate, counted otherwise.</summary>
    public void Refuse(IngestRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        var now = _time.GetTimestamp();
        var source = refusal.DeviceId ?? refusal.Source ?? "unknown";
        if (_buckets.Count >= MaxSources)
        {
            Sweep(now);
        }

        var stored = _ratePerMinute > 0
            && SourceBucket(source, now) is { } bucket
            && bucket.TryTake(now, _ratePerMinute, _time.TimestampFrequency)
            && _all.TryTake(now, _ratePerMinute * 20, _time.TimestampFrequency)
            && _queue.Writer.TryWrite(refusal);
        if (!stored)
        {
            _notStored.AddOrUpdate(refusal.Reason, 1, (_, n) => n + 1);
        }

        PipelineTelemetry.Refusals.Add(1,
            new KeyValuePair<string, object?>("sensorpipeline.refusal.reason", refusal.Reason),
            new KeyValuePair<string, object?>("sensorpipeline.door", refusal.Door),
            new KeyValuePair<string, object?>("stored", stored));
    }

    private TokenBucket? SourceBucket(string source, long now) =>
        _buckets.TryGetValue(source, out var bucket) ? bucket
        : _buckets.Count < MaxSources ? _buckets.GetOrAdd(source, _ => new TokenBucket(_ratePerMinute, now))
        : null;

    /// <summary>The refusals counted but not stored since the last call, by reason.</summary>
    internal Dictionary<string, long> TakeNotStored()
    {
        var taken = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var reason in _notStored.Keys)
        {
            if (_notStored.TryRemove(reason, out var count) && count > 0)
            {
                taken[reason] = count;
            }
        }

        return taken;
    }

    /// <summary>Puts back counts the writer could not store (the database did not answer).</summary>
    internal void ReturnNotStored(IReadOnlyDictionary<string, long> counts)
    {
        foreach (var (reason, count) in counts)
        {
            _notStored.AddOrUpdate(reason, count, (_, n) => n + count);
        }
    }

    /// <summary>Counts refusals that were queued but could not be written.</summary>
    internal void CountNotStored(IEnumerable<IngestRefusal> refusals)
    {
        foreach (var refusal in refusals)
        {
            _notStored.AddOrUpdate(refusal.Reason, 1, (_, n) => n + 1);
        }
    }

    /// <summary>Forgets sources whose buckets are full again (idle for a minute).</summary>
    private void Sweep(long now)
    {
        foreach (var (source, bucket) in _buckets)
        {
            if (bucket.IsFull(now, _ratePerMinute, _time.TimestampFrequency))
            {
                _buckets.TryRemove(source, out _);
            }
        }
    }

    /// <summary>A bucket of <c>capacity</c> tokens, refilled at <c>capacity</c> per minute.</summary>
    private sealed class TokenBucket(double tokens, long updated)
    {
        private readonly Lock _lock = new();
        private double _tokens = tokens;
        private long _updated = updated;

        public bool TryTake(long now, int capacity, long frequency)
        {
            lock (_lock)
            {
                Refill(now, capacity, frequency);
                if (_tokens < 1)
                {
                    return false;
                }

                _tokens -= 1;
                return true;
            }
        }

        public bool IsFull(long now, int capacity, long frequency)
        {
            lock (_lock)
            {
                Refill(now, capacity, frequency);
                return _tokens >= capacity;
            }
        }

        private void Refill(long now, int capacity, long frequency)
        {
            var elapsedMinutes = (now - _updated) / (double)frequency / 60.0;
            _tokens = Math.Min(capacity, _tokens + (elapsedMinutes * capacity));
            _updated = now;
        }
    }
}
