using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// Recent lag samples per consumer group, kept in this process for the pipeline view's trend,
/// estimate and sparkline: samples at least <see cref="MinSpacing"/> apart plus the latest read, none older
/// than <see cref="Window"/>, at most <see cref="Capacity"/> (+1, the latest read) in all (a ring buffer: bounded memory
/// whatever the polling rate). <see cref="LagSampler"/> reads the lag on a timer so a trend exists
/// before anyone looks; every read of the view adds one too.
/// </summary>
public sealed class LagHistory(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MinSpacing = TimeSpan.FromSeconds(2);
    public const int Capacity = 300;

    private readonly Lock _gate = new();
    private readonly LagSample[] _ring = new LagSample[Capacity];
    private int _next;
    private int _count;
    private LagSample? _latest;

    /// <summary>
    /// Adds a sample of every consumer in the snapshot: to the ring when it is at least
    /// <see cref="MinSpacing"/> after the ring's last one, else it stands as the latest read (shown
    /// after the ring's samples until a newer read replaces it).
    /// </summary>
    public void Record(KafkaLagSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var consumers = snapshot.Consumers.Where(c => c.TopicExists).ToDictionary(
            c => c.Function,
            c => new ConsumerSample(c.Lag, c.Partitions.Sum(p => p.Committed ?? p.LowWatermark)),
            StringComparer.Ordinal);
        var sample = new LagSample(snapshot.TakenAt, consumers);
        lock (_gate)
        {
            if (_count > 0 && sample.At - _ring[(_next + Capacity - 1) % Capacity].At < MinSpacing)
            {
                _latest = sample;
                return;
            }

            _ring[_next] = sample;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            _latest = null;
        }
    }

    /// <summary>The samples of the last <see cref="Window"/>, oldest first; the latest read last.</summary>
    public IReadOnlyList<LagSample> Samples()
    {
        var since = time.GetUtcNow() - Window;
        lock (_gate)
        {
            var samples = new List<LagSample>(_count + 1);
            for (var i = 0; i < _count; i++)
            {
                var sample = _ring[(_next - _count + i + Capacity) % Capacity];
                if (sample.At >= since)
                {
                    samples.Add(sample);
                }
            }

            if (_latest is not null && _latest.At >= since)
            {
                samples.Add(_latest);
            }

            return samples;
        }
    }

    /// <summary>
    /// Lag change per second (least squares over the samples of the last <paramref name="over"/>;
    /// negative = shrinking); 0 with fewer than two samples.
    /// </summary>
    public static double Trend(IReadOnlyList<LagSample> samples, string function, TimeSpan over)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            return 0;
        }

        var since = samples[^1].At - over;
        var points = samples.Where(s => s.At >= since && s.Consumers.ContainsKey(function))
            .Select(s => ((s.At - samples[^1].At).TotalSeconds, (double)s.Consumers[function].Lag)).ToList();
        if (points.Count < 2)
        {
            return 0;
        }

        var meanX = points.Average(p => p.Item1);
        var meanY = points.Average(p => p.Item2);
        var sxx = points.Sum(p => (p.Item1 - meanX) * (p.Item1 - meanX));
        return sxx <= 0 ? 0 : points.Sum(p => (p.Item1 - meanX) * (p.Item2 - meanY)) / sxx;
    }

    /// <summary>
    /// Messages per second the groups of <paramref name="functions"/> committed (all their replicas
    /// together: the group's committed offsets) between the newest sample and the one nearest
    /// <paramref name="window"/> before it; 0 without two samples.
    /// </summary>
    public static double CommitRate(IReadOnlyList<LagSample> samples, IReadOnlyCollection<string> functions, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(functions);
        if (samples.Count < 2)
        {
            return 0;
        }

        var last = samples[^1];
        var first = samples.LastOrDefault(s => s.At <= last.At - window) ?? samples[0];
        var seconds = (last.At - first.At).TotalSeconds;
        if (seconds <= 0)
        {
            return 0;
        }

        long Committed(LagSample s) => functions.Sum(f => s.Consumers.TryGetValue(f, out var c) ? c.Committed : 0);
        return Math.Max(0, Committed(last) - Committed(first)) / seconds;
    }

    /// <summary>One read of every consumer group's lag.</summary>
    public sealed record LagSample(DateTimeOffset At, IReadOnlyDictionary<string, ConsumerSample> Consumers);

    /// <summary>A group's total lag and the sum of its committed offsets (earliest where none) at a sample.</summary>
    public sealed record ConsumerSample(long Lag, long Committed);
}
