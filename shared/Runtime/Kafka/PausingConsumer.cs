using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// A Kafka trigger's consumer while it waits (a retry's backoff, an outage, giving way): every
/// assigned partition paused, still polling so the group keeps this member, and the wait cut
/// short when a partition of the batch is revoked.
/// </summary>
internal sealed class PausingConsumer(IConsumer<byte[], byte[]> consumer, HashSet<TopicPartition> revoked, string function, ILogger logger)
{
    public IConsumer<byte[], byte[]> Consumer => consumer;

    /// <summary>Waits with every partition paused; false when a partition of the batch was revoked meanwhile or the host is stopping.</summary>
    public bool Wait(TimeSpan delay, HashSet<TopicPartition> partitions, CancellationToken stoppingToken)
    {
        var assignment = consumer.Assignment;
        if (assignment.Count > 0)
        {
            consumer.Pause(assignment);
        }

        var until = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        while (!stoppingToken.IsCancellationRequested && !revoked.Overlaps(partitions))
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), until);
            if (remaining <= TimeSpan.Zero)
            {
                return true;
            }

            try
            {
                var unexpected = consumer.Consume(remaining < TimeSpan.FromMilliseconds(100) ? remaining : TimeSpan.FromMilliseconds(100));
                if (unexpected is { IsPartitionEOF: false })
                {
                    // A partition assigned during the wait is not paused yet: put its message back.
                    consumer.Seek(unexpected.TopicPartitionOffset);
                    consumer.Pause([unexpected.TopicPartition]);
                }
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                KafkaTriggerLog.LogConsumerError(logger, function, e.Error.Code, e.Error.Reason);
            }
        }

        return false;
    }

    /// <summary>Resumes every assigned partition after a wait.</summary>
    public void ResumeAll()
    {
        var assignment = consumer.Assignment;
        if (assignment.Count > 0)
        {
            consumer.Resume(assignment);
        }
    }
}

/// <summary>How a batch, or a part of it, ended.</summary>
internal enum TriggerOutcome
{
    /// <summary>Processed, or dead-lettered: its offsets may be stored.</summary>
    Done,

    /// <summary>Failed after its retries: to be split or dead-lettered.</summary>
    Failed,

    /// <summary>Stopping or revoked: left uncommitted, to be read again.</summary>
    Abandoned,
}
