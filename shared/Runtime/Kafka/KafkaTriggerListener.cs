using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SensorPipeline.Functions.Runtime.Hosting;

namespace SensorPipeline.Functions.Runtime.Kafka;

/// <summary>
/// The consume loop of one Kafka-triggered function, on its own thread: offsets are stored only
/// after the function succeeded (or its messages were dead-lettered); a failing invocation is
/// retried with backoff, then split to find the message that fails alone, which goes to the
/// dead-letter topic with the reason; a dependency outage pauses the partitions and retries until
/// it is over, dead-lettering nothing; a batch whose partitions are revoked, or that is in flight at
/// shutdown, is abandoned uncommitted (and re-read from its first offset if the partition stays).
/// </summary>
internal sealed partial class KafkaTriggerListener(
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
    private long _windowStart = Stopwatch.GetTimestamp();
    private long _windowCount;

    private readonly HashSet<TopicPartition> _revoked = [];

    private enum Outcome { Done, Failed, Abandoned }

    /// <summary>Runs the loop on the calling thread until stopped.</summary>
    public void Run(CancellationToken stoppingToken) => ConsumeLoopSynchronizationContext.Run(() => RunAsync(stoppingToken));

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(settings.ConsumerConfig)
            .SetErrorHandler((_, error) =>
            {
                LogConsumerError(logger, function.Name, error.Code, error.Reason);
                health.OnClientError(function.Name, settings.ConsumerConfig.GroupId, error);
            })
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                LogAssigned(logger, function.Name, string.Join(",", partitions.Select(p => p.Partition.Value)));
                health.OnAssigned(function.Name, instance, partitions);
            })
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .Build();
        consumer.Subscribe(settings.Topic);
        health.OnSubscribed(function.Name, instance, settings.Topic, settings.ConsumerConfig.GroupId);
        LogListening(logger, function.Name, settings.Topic, settings.ConsumerConfig.GroupId);
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
                    LogConsumerError(logger, function.Name, e.Error.Code, e.Error.Reason);
                    continue;
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                if (batch.Count > 0)
                {
                    _revoked.Clear();
                    if (throttle is not null && !Yield(consumer, batch.Select(r => r.TopicPartition).ToHashSet(), stoppingToken))
                    {
                        // Revoked or stopping while giving way: the batch was not processed.
                        if (!stoppingToken.IsCancellationRequested)
                        {
                            Rewind(consumer, batch);
                        }

                        continue;
                    }

                    await ProcessBatchAsync(consumer, batch, stoppingToken);
                    lags.Report(function.Name, instance, ConsumerLagRegistry.LocalLag(consumer));
                    _windowCount += batch.Count;
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
                LogConsumerError(logger, function.Name, e.Error.Code, e.Error.Reason);
            }

            health.OnStopped(function.Name, instance);
            LogStopped(logger, function.Name);
        }
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        var list = partitions.ToList();
        _revoked.UnionWith(list);
        health.OnRevoked(function.Name, instance, list);
        LogRevoked(logger, function.Name, string.Join(",", list.Select(p => p.Partition.Value)));
    }

    /// <summary>
    /// Gives way: waits, partitions paused, while a function this one yields to has lag over the
    /// threshold, and while this function is over its rate cap.
    /// </summary>
    private bool Yield(IConsumer<byte[], byte[]> consumer, HashSet<TopicPartition> partitions, CancellationToken stoppingToken)
    {
        var waited = false;
        var ok = true;
        while (ok && throttle!.YieldTo.Any(f => lags.LagOf(f) > throttle.YieldLagThreshold))
        {
            if (!waited)
            {
                LogYielding(logger, function.Name, string.Join(",", throttle.YieldTo));
                waited = true;
            }

            health.OnYielding(function.Name);

            ok = Wait(consumer, TimeSpan.FromMilliseconds(50), partitions, stoppingToken);
        }

        if (ok && throttle!.MaxMessagesPerSecond > 0)
        {
            var elapsed = Stopwatch.GetElapsedTime(_windowStart);
            var due = TimeSpan.FromSeconds((double)_windowCount / throttle.MaxMessagesPerSecond);
            if (due > elapsed)
            {
                ok = Wait(consumer, due - elapsed, partitions, stoppingToken);
                waited = true;
            }

            if (elapsed > TimeSpan.FromSeconds(5))
            {
                _windowStart = Stopwatch.GetTimestamp();
                _windowCount = 0;
            }
        }

        if (waited && consumer.Assignment.Count > 0)
        {
            consumer.Resume(consumer.Assignment);
        }

        return ok && !stoppingToken.IsCancellationRequested;
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
        var max = throttle is { MaxMessagesPerSecond: > 0 } ? Math.Min(settings.MaxBatchSize, throttle.MaxMessagesPerSecond) : settings.MaxBatchSize;
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

    private async Task ProcessBatchAsync(IConsumer<byte[], byte[]> consumer, List<ConsumeResult<byte[], byte[]>> batch, CancellationToken stoppingToken)
    {
        var partitions = batch.Select(r => r.TopicPartition).ToHashSet();
        var decoded = new List<(ConsumeResult<byte[], byte[]> Record, object Value)>(batch.Count);
        var outcome = Outcome.Done;
        foreach (var record in batch)
        {
            try
            {
                decoded.Add((record, binder.Decode(record)));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Undecodable: retrying cannot help, so it goes straight to the dead-letter topic.
                LogUndecodable(logger, e, function.Name, record.Topic, record.Partition.Value, record.Offset.Value);
                outcome = await DeadLetterAsync(consumer, [record], e, 0, partitions, stoppingToken);
                if (outcome != Outcome.Done)
                {
                    break;
                }
            }
        }

        if (outcome == Outcome.Done && decoded.Count > 0)
        {
            if (binder.IsBatched)
            {
                outcome = await ProcessIsolatingAsync(consumer, decoded, settings.MaxRetries + 1, partitions, stoppingToken);
            }
            else
            {
                foreach (var single in decoded)
                {
                    outcome = await ProcessIsolatingAsync(consumer, [single], settings.MaxRetries + 1, partitions, stoppingToken);
                    if (outcome != Outcome.Done)
                    {
                        break;
                    }
                }
            }
        }

        if (outcome == Outcome.Done)
        {
            StoreOffsets(consumer, batch);
        }
        else if (!stoppingToken.IsCancellationRequested)
        {
            Rewind(consumer, batch);
        }

        var assignment = consumer.Assignment;
        if (assignment.Count > 0)
        {
            consumer.Resume(assignment);
        }
    }

    /// <summary>
    /// Runs the function on the items with up to <paramref name="attempts"/> tries; if it still
    /// fails, halves the items and runs each half once, down to single items, which get the full
    /// retries before being dead-lettered. One poison message costs its neighbours nothing.
    /// </summary>
    private async Task<Outcome> ProcessIsolatingAsync(
        IConsumer<byte[], byte[]> consumer,
        IReadOnlyList<(ConsumeResult<byte[], byte[]> Record, object Value)> items,
        int attempts,
        HashSet<TopicPartition> partitions,
        CancellationToken stoppingToken)
    {
        var (outcome, error, tried) = await ExecuteAsync(consumer, items, attempts, partitions, stoppingToken);
        if (outcome != Outcome.Failed)
        {
            return outcome;
        }

        if (items.Count == 1)
        {
            return await DeadLetterAsync(consumer, [items[0].Record], error!, tried, partitions, stoppingToken);
        }

        LogSplitting(logger, function.Name, items.Count);
        var half = items.Count / 2;
        var left = items.Take(half).ToList();
        var right = items.Skip(half).ToList();
        var leftOutcome = await ProcessIsolatingAsync(consumer, left, left.Count == 1 ? settings.MaxRetries + 1 : 1, partitions, stoppingToken);
        return leftOutcome != Outcome.Done
            ? leftOutcome
            : await ProcessIsolatingAsync(consumer, right, right.Count == 1 ? settings.MaxRetries + 1 : 1, partitions, stoppingToken);
    }

    private async Task<(Outcome Outcome, Exception? Error, int Attempts)> ExecuteAsync(
        IConsumer<byte[], byte[]> consumer,
        IReadOnlyList<(ConsumeResult<byte[], byte[]> Record, object Value)> items,
        int maxAttempts,
        HashSet<TopicPartition> partitions,
        CancellationToken stoppingToken)
    {
        var attempts = 0;
        var delay = settings.RetryInitialDelay;
        var outageDelay = settings.RetryInitialDelay;
        var argument = binder.BuildArgument(items.Select(i => i.Value).ToList());
        var records = items.Select(i => i.Record).ToList();
        Func<IReadOnlyDictionary<string, object?>> bindingData = () => KafkaMessageBinder.BindingData(records, settings.ConsumerConfig.GroupId, binder.IsBatched);
        while (true)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                return (Outcome.Abandoned, null, attempts);
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                using (var activity = KafkaTracing.StartInvocation(function, settings.Topic, settings.ConsumerConfig.GroupId, items, binder.IsBatched))
                {
                    try
                    {
                        await invoker.InvokeAsync(function, new InvocationInput(argument, BindingData: bindingData, RetryCount: attempts, MaxRetryCount: maxAttempts - 1), stoppingToken);
                    }
                    catch (Exception e)
                    {
                        KafkaTracing.Failed(activity, e);
                        throw;
                    }
                }

                RuntimeTelemetry.InvocationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("faas.name", function.Name));
                RuntimeTelemetry.MessagesProcessed.Add(items.Count, new KeyValuePair<string, object?>("faas.name", function.Name));
                return (Outcome.Done, null, attempts + 1);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                LogAbandoned(logger, function.Name, items.Count);
                return (Outcome.Abandoned, null, attempts);
            }
            catch (Exception e) when (FailureClassifier.IsDependencyUnavailable(e))
            {
                LogDependencyDown(logger, function.Name, outageDelay.TotalSeconds, e.Message);
                health.OnFailure(function.Name, "dependency unavailable: " + e.Message);
                if (!Wait(consumer, outageDelay, partitions, stoppingToken))
                {
                    return (Outcome.Abandoned, null, attempts);
                }

                outageDelay = Next(outageDelay);
            }
            catch (Exception e)
            {
                attempts++;
                if (attempts >= maxAttempts)
                {
                    return (Outcome.Failed, e, attempts);
                }

                RuntimeTelemetry.InvocationRetries.Add(1, new KeyValuePair<string, object?>("faas.name", function.Name));
                LogRetrying(logger, e, function.Name, items.Count, attempts, maxAttempts, delay.TotalMilliseconds);
                if (!Wait(consumer, delay, partitions, stoppingToken))
                {
                    return (Outcome.Abandoned, null, attempts);
                }

                delay = Next(delay);
            }
        }
    }

    private TimeSpan Next(TimeSpan delay) =>
        TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, settings.RetryMaxDelay.Ticks));

    private async Task<Outcome> DeadLetterAsync(
        IConsumer<byte[], byte[]> consumer,
        IReadOnlyList<ConsumeResult<byte[], byte[]>> records,
        Exception error,
        int attempts,
        HashSet<TopicPartition> partitions,
        CancellationToken stoppingToken)
    {
        var reason = $"{error.GetType().Name}: {error.Message}";
        var messages = records.Select(r =>
        {
            var headers = new List<KeyValuePair<string, string>>();
            if (r.Message.Headers is not null)
            {
                headers.AddRange(r.Message.Headers
                    .Where(h => !h.Key.StartsWith(DeadLetterHeaders.Prefix, StringComparison.Ordinal))
                    .Select(h => new KeyValuePair<string, string>(h.Key, Encoding.UTF8.GetString(h.GetValueBytes() ?? []))));
            }

            headers.Add(new(DeadLetterHeaders.Reason, reason.Length > 2000 ? reason[..2000] : reason));
            headers.Add(new(DeadLetterHeaders.ExceptionType, error.GetType().FullName ?? error.GetType().Name));
            headers.Add(new(DeadLetterHeaders.Function, function.Name));
            headers.Add(new(DeadLetterHeaders.Attempts, attempts.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            headers.Add(new(DeadLetterHeaders.OriginalTopic, r.Topic));
            headers.Add(new(DeadLetterHeaders.OriginalPartition, r.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            headers.Add(new(DeadLetterHeaders.OriginalOffset, r.Offset.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            headers.Add(new(DeadLetterHeaders.DeadLetteredAt, DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
            return new OutgoingMessage(null, r.Message.Value ?? [], headers, r.Message.Key);
        }).ToList();

        var delay = settings.RetryInitialDelay;
        while (true)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                return Outcome.Abandoned;
            }

            try
            {
                await publisher.PublishAsync(settings.DeadLetterTopic, messages, stoppingToken);
                RuntimeTelemetry.MessagesDeadLettered.Add(records.Count, new KeyValuePair<string, object?>("faas.name", function.Name));
                foreach (var r in records)
                {
                    LogDeadLettered(logger, function.Name, r.Topic, r.Partition.Value, r.Offset.Value, settings.DeadLetterTopic, reason);
                }

                return Outcome.Done;
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return Outcome.Abandoned;
            }
            catch (Exception e)
            {
                // Never commit a message that is neither processed nor dead-lettered.
                LogDependencyDown(logger, function.Name, delay.TotalSeconds, e.Message);
                if (!Wait(consumer, delay, partitions, stoppingToken))
                {
                    return Outcome.Abandoned;
                }

                delay = Next(delay);
            }
        }
    }

    /// <summary>
    /// Waits with every partition paused, still polling so the group keeps this member; false
    /// when a partition of the batch was revoked meanwhile or the host is stopping.
    /// </summary>
    private bool Wait(IConsumer<byte[], byte[]> consumer, TimeSpan delay, HashSet<TopicPartition> partitions, CancellationToken stoppingToken)
    {
        var assignment = consumer.Assignment;
        if (assignment.Count > 0)
        {
            consumer.Pause(assignment);
        }

        var until = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        while (!stoppingToken.IsCancellationRequested && !_revoked.Overlaps(partitions))
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
                LogConsumerError(logger, function.Name, e.Error.Code, e.Error.Reason);
            }
        }

        return false;
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
                LogStoreFailed(logger, function.Name, last.Partition.Value, last.Offset.Value, e.Error.Reason);
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
                LogStoreFailed(logger, function.Name, first.Partition.Value, first.Offset.Value, e.Error.Reason);
            }
        }
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "{Function} listening on topic {Topic} as group {Group}")]
    private static partial void LogListening(ILogger logger, string function, string topic, string group);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{Function} assigned partitions [{Partitions}]")]
    private static partial void LogAssigned(ILogger logger, string function, string partitions);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "{Function} revoked partitions [{Partitions}]")]
    private static partial void LogRevoked(ILogger logger, string function, string partitions);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "{Function}: Kafka consumer error {Code}: {Reason}")]
    private static partial void LogConsumerError(ILogger logger, string function, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "{Function} failed on {Count} message(s), attempt {Attempt} of {MaxAttempts}; retrying in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string function, int count, int attempt, int maxAttempts, double delayMs);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "{Function}: a dependency is unavailable ({Reason}); partitions paused, retrying in {DelaySeconds} s")]
    private static partial void LogDependencyDown(ILogger logger, string function, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "{Function}: batch of {Count} keeps failing; splitting it to find the failing message")]
    private static partial void LogSplitting(ILogger logger, string function, int count);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Error, Message = "{Function}: message {Topic}/{Partition}@{Offset} dead-lettered to {DeadLetterTopic}: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string function, string topic, int partition, long offset, string deadLetterTopic, string reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "{Function}: message {Topic}/{Partition}@{Offset} cannot be decoded")]
    private static partial void LogUndecodable(ILogger logger, Exception exception, string function, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "{Function}: in-flight batch of {Count} abandoned uncommitted")]
    private static partial void LogAbandoned(ILogger logger, string function, int count);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Debug, Message = "{Function}: offset of partition {Partition} at {Offset} not stored/seeked: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string function, int partition, long offset, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Debug, Message = "{Function} yields: lag of {Functions} is over the threshold")]
    private static partial void LogYielding(ILogger logger, string function, string functions);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "{Function} stopped and left its group")]
    private static partial void LogStopped(ILogger logger, string function);
}

/// <summary>Headers a dead-lettered message carries.</summary>
public static class DeadLetterHeaders
{
    public const string Prefix = "x-deadletter-";
    public const string Reason = "x-deadletter-reason";
    public const string ExceptionType = "x-deadletter-exception";
    public const string Function = "x-deadletter-function";
    public const string Attempts = "x-deadletter-attempts";
    public const string OriginalTopic = "x-deadletter-original-topic";
    public const string OriginalPartition = "x-deadletter-original-partition";
    public const string OriginalOffset = "x-deadletter-original-offset";
    public const string DeadLetteredAt = "x-deadletter-at";
}

/// <summary>Everything one Kafka trigger's loop needs, resolved from attribute, settings and host.json.</summary>
internal sealed record KafkaTriggerSettings(
    string Topic,
    string DeadLetterTopic,
    ConsumerConfig ConsumerConfig,
    int MaxBatchSize,
    TimeSpan MaxBatchWait,
    int MaxRetries,
    TimeSpan RetryInitialDelay,
    TimeSpan RetryMaxDelay);
