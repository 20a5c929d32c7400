using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Split-to-isolate: runs the function on the items with up to the given tries; if it still
/// fails, halves the items and runs each half once, down to single items, which get the full
/// retries before being dead-lettered. One poison message costs its neighbours nothing.
/// </summary>
internal sealed class PoisonIsolator(RetryingInvoker retries, DeadLetterWriter deadLetters, int maxRetries, string function, ILogger logger)
{
    public async Task<TriggerOutcome> ProcessAsync(
        PausingConsumer consumer,
        IReadOnlyList<(ConsumeResult<byte[], byte[]> Record, object Value)> items,
        HashSet<TopicPartition> partitions,
        CancellationToken stoppingToken) =>
        await ProcessAsync(consumer, items, maxRetries + 1, partitions, stoppingToken);

    private async Task<TriggerOutcome> ProcessAsync(
        PausingConsumer consumer,
        IReadOnlyList<(ConsumeResult<byte[], byte[]> Record, object Value)> items,
        int attempts,
        HashSet<TopicPartition> partitions,
        CancellationToken stoppingToken)
    {
        var (outcome, error, tried) = await retries.ExecuteAsync(consumer, items, attempts, partitions, stoppingToken);
        if (outcome != TriggerOutcome.Failed)
        {
            return outcome;
        }

        if (items.Count == 1)
        {
            return await deadLetters.WriteAsync(consumer, [items[0].Record], error!, tried, partitions, stoppingToken);
        }

        KafkaTriggerLog.LogSplitting(logger, function, items.Count);
        var half = items.Count / 2;
        var left = items.Take(half).ToList();
        var right = items.Skip(half).ToList();
        var leftOutcome = await ProcessAsync(consumer, left, left.Count == 1 ? maxRetries + 1 : 1, partitions, stoppingToken);
        return leftOutcome != TriggerOutcome.Done
            ? leftOutcome
            : await ProcessAsync(consumer, right, right.Count == 1 ? maxRetries + 1 : 1, partitions, stoppingToken);
    }
}
