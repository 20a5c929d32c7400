using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// The consume loop of one Kafka-triggered function, on its own thread: offsets are stored only
/// after the function succeeded (or its messages were dead-lettered); a failing invocation is
/// retried with backoff, then split to find the message that fails alone, which goes to the
/// dead-letter topic with the reason; a dependency outage pauses the partitions and retries until
/// it is over, dead-lettering nothing; a batch whose partitions are revoked, or that is in flight at
/// shutdown, is abandoned uncommitted (and re-read from its first offset if the partition stays).
/// </summary>
internal sealed class KafkaTriggerListener(
    FunctionDescriptor function,
    KafkaTriggerSettings settings,
    KafkaMessageBinder binder,
    FunctionInvoker invoker,
    KafkaPublisher publisher,
    ConsumerLagRegistry lags,
    KafkaFunctionThrottle? throttle,
    int instance,
    ILogger logger,
    ConsumerHealth health)
{
    private readonly HashSet<TopicPartition> _revoked = [];
    private readonly KafkaThrottleGate? _throttle = throttle is null ? null : new KafkaThrottleGate(throttle, lags, health, function.Name, logger);
    private readonly DeadLetterWriter _deadLetters = new(publisher, settings, function.Name, logger);
    private PoisonIsolator? _isolator;

    /// <summary>Runs the loop on the calling thread until stopped.</summary>
    public void Run(CancellationToken stoppingToken) => ConsumeLoopSynchronizationContext.Run(() => RunAsync(stoppingToken));

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(settings.ConsumerConfig)
            .SetErrorHandler((_, error) =>
            {
                KafkaTriggerLog.LogConsumerError(logger, function.Name, error.Code, error.Reason);
                health.OnClientError(function.Name, settings.ConsumerConfig.GroupId, error);
            })
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                KafkaTriggerLog.LogAssigned(logger, function.Name, string.Join(",", partitions.Select(p => p.Partition.Value)));
                health.OnAssigned(function.Name, instance, partitions);
            })
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .Build();
        var pausing = new PausingConsumer(consumer, _revoked, function.Name, logger);
        _isolator = new PoisonIsolator(new RetryingInvoker(function, settings, binder, invoker, health, logger), _deadLetters, settings.MaxRetries, function.Name, logger);
        consumer.Subscribe(settings.Topic);
        health.OnSubscribed(function.Name, instance, settings.Topic, settings.ConsumerConfig.GroupId);
        KafkaTriggerLog.LogListening(logger, function.Name, settings.Topic, settings.ConsumerConfig.GroupId);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                List<ConsumeResult<byte[], byte[]>> batch;
                try
                {
                    batch = FillBatch(consumer, stoppingToken);
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    KafkaTriggerLog.LogConsumerError(logger, function.Name, e.Error.Code, e.Error.Reason);
                    continue;
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                if (batch.Count > 0)
                {
                    _revoked.Clear();
                    if (_throttle is not null && !_throttle.GiveWay(pausing, batch.Select(r => r.TopicPartition).ToHashSet(), stoppingToken))
                    {
                        // Revoked or stopping while giving way: the batch was not processed.
                        if (!stoppingToken.IsCancellationRequested)
                        {
                            Rewind(consumer, batch);
                        }

                        continue;
                    }

                    await ProcessBatchAsync(pausing, batch, stoppingToken);
                    lags.Report(function.Name, instance, ConsumerLagRegistry.LocalLag(consumer));
                    _throttle?.Processed(batch.Count);
                }
            }
        }
        finally
        {
            try
            {
                // Commits what was stored and leaves the group so partitions move on at once.
                consumer.Close();
            }
            catch (KafkaException e)
            {
                KafkaTriggerLog.LogConsumerError(logger, function.Name, e.Error.Code, e.Error.Reason);
            }

            health.OnStopped(function.Name, instance);
            KafkaTriggerLog.LogStopped(logger, function.Name);
        }
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        var list = partitions.ToList();
        _revoked.UnionWith(list);
        health.OnRevoked(function.Name, instance, list);
        KafkaTriggerLog.LogRevoked(logger, function.Name, string.Join(",", list.Select(p => p.Partition.Value)));
    }

    private List<ConsumeResult<byte[], byte[]>> FillBatch(IConsumer<byte[], byte[]> consumer, CancellationToken stoppingToken)
    {
        var batch = new List<ConsumeResult<byte[], byte[]>>();
        var first = consumer.Consume(stoppingToken);
        if (first is null || first.IsPartitionEOF)
        {
            return batch;
        }

        batch.Add(first);
        if (!binder.IsBatched)
        {
            return batch;
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(settings.MaxBatchWait.TotalSeconds * Stopwatch.Frequency);
        var max = _throttle?.MaxBatch(settings.MaxBatchSize) ?? settings.MaxBatchSize;
        while (batch.Count < max)
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            var next = consumer.Consume(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            if (next is null)
            {
                break;
            }

            if (!next.IsPartitionEOF)
            {
                batch.Add(next);
            }
        }

        return batch;
    }

    /// <summary>
    /// Decodes the batch (an undecodable message is dead-lettered at once), runs the function on
    /// it with retries and split-to-isolate, then stores the offsets — or, when the batch was
    /// abandoned, seeks back so it is read again.
    /// </summary>
    private async Task ProcessBatchAsync(PausingConsumer pausing, List<ConsumeResult<byte[], byte[]>> batch, CancellationToken stoppingToken)
    {
        var partitions = batch.Select(r => r.TopicPartition).ToHashSet();
        var decoded = new List<(ConsumeResult<byte[], byte[]> Record, object Value)>(batch.Count);
        var outcome = TriggerOutcome.Done;
        foreach (var record in batch)
        {
            try
            {
                decoded.Add((record, binder.Decode(record)));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Undecodable: retrying cannot help, so it goes straight to the dead-letter topic.
                KafkaTriggerLog.LogUndecodable(logger, e, function.Name, record.Topic, record.Partition.Value, record.Offset.Value);
                outcome = await _deadLetters.WriteAsync(pausing, [record], e, 0, partitions, stoppingToken);
                if (outcome != TriggerOutcome.Done)
                {
                    break;
                }
            }
        }

        if (outcome == TriggerOutcome.Done && decoded.Count > 0)
        {
            if (binder.IsBatched)
            {
                outcome = await _isolator!.ProcessAsync(pausing, decoded, partitions, stoppingToken);
            }
            else
            {
                foreach (var single in decoded)
                {
                    outcome = await _isolator!.ProcessAsync(pausing, [single], partitions, stoppingToken);
                    if (outcome != TriggerOutcome.Done)
                    {
                        break;
                    }
                }
            }
        }

        if (outcome == TriggerOutcome.Done)
        {
            StoreOffsets(pausing.Consumer, batch);
        }
        else if (!stoppingToken.IsCancellationRequested)
        {
            Rewind(pausing.Consumer, batch);
        }

        pausing.ResumeAll();
    }

    private void StoreOffsets(IConsumer<byte[], byte[]> consumer, List<ConsumeResult<byte[], byte[]>> batch)
    {
        health.OnProgress(function.Name);
        foreach (var last in batch.GroupBy(r => r.TopicPartition).Select(g => g.MaxBy(r => r.Offset.Value)!))
        {
            try
            {
                consumer.StoreOffset(last);
            }
            catch (KafkaException e)
            {
                // The partition moved to another member: it will read these again (at-least-once).
                KafkaTriggerLog.LogStoreFailed(logger, function.Name, last.Partition.Value, last.Offset.Value, e.Error.Reason);
            }
        }
    }

    private void Rewind(IConsumer<byte[], byte[]> consumer, List<ConsumeResult<byte[], byte[]>> batch)
    {
        var assigned = consumer.Assignment.ToHashSet();
        foreach (var first in batch.GroupBy(r => r.TopicPartition).Select(g => g.MinBy(r => r.Offset.Value)!))
        {
            if (!assigned.Contains(first.TopicPartition))
            {
                continue;
            }

            try
            {
                consumer.Seek(first.TopicPartitionOffset);
            }
            catch (KafkaException e)
            {
                KafkaTriggerLog.LogStoreFailed(logger, function.Name, first.Partition.Value, first.Offset.Value, e.Error.Reason);
            }
        }
    }
}
