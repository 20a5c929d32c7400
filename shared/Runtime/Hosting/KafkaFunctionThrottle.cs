using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>
/// Lets a low-priority Kafka function (a backfill) give way in one process: it pauses its
/// partitions while any function in <see cref="YieldTo"/> running in the same process has more than
/// <see cref="YieldLagThreshold"/> messages of lag, and processes at most
/// <see cref="MaxMessagesPerSecond"/> (0: no cap).
/// </summary>
public sealed class KafkaFunctionThrottle
{
    public List<string> YieldTo { get; set; } = [];

    [Range(0, long.MaxValue)]
    public long YieldLagThreshold { get; set; } = 1000;

    [Range(0, int.MaxValue)]
    public int MaxMessagesPerSecond { get; set; }
}
