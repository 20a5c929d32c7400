using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Writes messages that failed for good to the function's dead-letter topic with the reason,
/// function, attempts and original position in <c>x-deadletter-*</c> headers. Retries the write
/// until the broker takes it: a message is never committed unless processed or dead-lettered.
/// </summary>
internal sealed class DeadLetterWriter(KafkaPublisher publisher, KafkaTriggerSettings settings, string function, ILogger logger)
{
    public async Task<TriggerOutcome> WriteAsync(
        PausingConsumer consumer,
        IReadOnlyList<ConsumeResult<byte[], byte[]>> records,
        Exception error,
        int attempts,
        HashSet<TopicPartition> partitions,
        CancellationToken stoppingToken)
    {
        var reason = $"{error.GetType().Name}: {error.Message}";
        var messages = records.Select(r =>
        {
            var headers = DeadLetterHeaders.CopyOriginal(r.Message.Headers);
            headers.Add(new(DeadLetterHeaders.Reason, reason.Length > 2000 ? reason[..2000] : reason));
            headers.Add(new(DeadLetterHeaders.ExceptionType, error.GetType().FullName ?? error.GetType().Name));
            headers.Add(new(DeadLetterHeaders.Function, function));
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
                return TriggerOutcome.Abandoned;
            }

            try
            {
                await publisher.PublishAsync(settings.DeadLetterTopic, messages, stoppingToken);
                RuntimeTelemetry.MessagesDeadLettered.Add(records.Count, new KeyValuePair<string, object?>("faas.name", function));
                foreach (var r in records)
                {
                    KafkaTriggerLog.LogDeadLettered(logger, function, r.Topic, r.Partition.Value, r.Offset.Value, settings.DeadLetterTopic, reason);
                }

                return TriggerOutcome.Done;
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return TriggerOutcome.Abandoned;
            }
            catch (Exception e)
            {
                KafkaTriggerLog.LogDependencyDown(logger, function, delay.TotalSeconds, e.Message);
                if (!consumer.Wait(delay, partitions, stoppingToken))
                {
                    return TriggerOutcome.Abandoned;
                }

                delay = RetryingInvoker.Backoff(delay, settings.RetryMaxDelay);
            }
        }
    }
}
