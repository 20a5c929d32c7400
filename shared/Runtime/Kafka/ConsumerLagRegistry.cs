using System.Collections.Concurrent;
using Confluent.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// The lag of each Kafka-triggered function running in this process, as its consumer last saw it
/// (cached high watermark − position, no broker round trip): what a low-priority function yields to.
/// </summary>
public sealed class ConsumerLagRegistry
{
    private readonly ConcurrentDictionary<(string Function, int Instance), long> _lag = new();

    /// <summary>What one of the function's consumers (<paramref name="instance"/>) last saw.</summary>
    public void Report(string function, int instance, long lag) => _lag[(function.ToUpperInvariant(), instance)] = lag;

    /// <summary>The function's last reported lag over its consumers here; 0 when it does not run in this process.</summary>
    public long LagOf(string function)
    {
        var key = function.ToUpperInvariant();
        return _lag.Where(kv => kv.Key.Function == key).Sum(kv => kv.Value);
    }

    internal static long LocalLag(IConsumer<byte[], byte[]> consumer)
    {
        long lag = 0;
        foreach (var partition in consumer.Assignment)
        {
            var watermarks = consumer.GetWatermarkOffsets(partition);
            var position = consumer.Position(partition);
            if (watermarks.High.Value >= 0 && position.Value >= 0)
            {
                lag += Math.Max(0, watermarks.High.Value - position.Value);
            }
        }

        return lag;
    }
}
