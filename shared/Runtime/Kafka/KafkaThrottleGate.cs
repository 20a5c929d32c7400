using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// host.json <c>extensions.kafka.throttle.&lt;function&gt;</c>: the function gives way while a
/// function it yields to has lag over the threshold, and keeps under its rate cap.
/// </summary>
internal sealed class KafkaThrottleGate(KafkaFunctionThrottle throttle, ConsumerLagRegistry lags, ConsumerHealth health, string function, ILogger logger)
{
    private long _windowStart = Stopwatch.GetTimestamp();
    private long _windowCount;

    /// <summary>The largest batch under the rate cap.</summary>
    public int MaxBatch(int configured) => throttle.MaxMessagesPerSecond > 0 ? Math.Min(configured, throttle.MaxMessagesPerSecond) : configured;

    /// <summary>Counts processed messages against the rate cap.</summary>
    public void Processed(int count) => _windowCount += count;

    /// <summary>Waits, partitions paused, until the batch may go; false when revoked or stopping meanwhile.</summary>
    public bool GiveWay(PausingConsumer consumer, HashSet<TopicPartition> partitions, CancellationToken stoppingToken)
    {
        var waited = false;
        var ok = true;
        while (ok && throttle.YieldTo.Any(f => lags.LagOf(f) > throttle.YieldLagThreshold))
        {
            if (!waited)
            {
                KafkaTriggerLog.LogYielding(logger, function, string.Join(",", throttle.YieldTo));
                waited = true;
            }

            health.OnYielding(function);
            ok = consumer.Wait(TimeSpan.FromMilliseconds(50), partitions, stoppingToken);
        }

        if (ok && throttle.MaxMessagesPerSecond > 0)
        {
            var elapsed = Stopwatch.GetElapsedTime(_windowStart);
            var due = TimeSpan.FromSeconds((double)_windowCount / throttle.MaxMessagesPerSecond);
            if (due > elapsed)
            {
                ok = consumer.Wait(due - elapsed, partitions, stoppingToken);
                waited = true;
            }

            if (elapsed > TimeSpan.FromSeconds(5))
            {
                _windowStart = Stopwatch.GetTimestamp();
                _windowCount = 0;
            }
        }

        if (waited)
        {
            consumer.ResumeAll();
        }

        return ok && !stoppingToken.IsCancellationRequested;
    }
}
