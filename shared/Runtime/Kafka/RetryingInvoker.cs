using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Invokes a Kafka-triggered function on some messages with bounded retries and exponential
/// backoff; a dependency outage (<see cref="FailureClassifier"/>) is waited out without counting
/// attempts. Each attempt is one invocation with its own trace activity and FunctionContext.
/// </summary>
internal sealed class RetryingInvoker(
    FunctionDescriptor function,
    KafkaTriggerSettings settings,
    KafkaMessageBinder binder,
    FunctionInvoker invoker,
    ConsumerHealth health,
    ILogger logger)
{
    public static TimeSpan Backoff(TimeSpan delay, TimeSpan max) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, max.Ticks));

    public async Task<(TriggerOutcome Outcome, Exception? Error, int Attempts)> ExecuteAsync(
        PausingConsumer consumer,
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
                return (TriggerOutcome.Abandoned, null, attempts);
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
                return (TriggerOutcome.Done, null, attempts + 1);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                KafkaTriggerLog.LogAbandoned(logger, function.Name, items.Count);
                return (TriggerOutcome.Abandoned, null, attempts);
            }
            catch (Exception e) when (FailureClassifier.IsDependencyUnavailable(e))
            {
                KafkaTriggerLog.LogDependencyDown(logger, function.Name, outageDelay.TotalSeconds, e.Message);
                health.OnFailure(function.Name, "dependency unavailable: " + e.Message);
                if (!consumer.Wait(outageDelay, partitions, stoppingToken))
                {
                    return (TriggerOutcome.Abandoned, null, attempts);
                }

                outageDelay = Backoff(outageDelay, settings.RetryMaxDelay);
            }
            catch (Exception e)
            {
                attempts++;
                if (attempts >= maxAttempts)
                {
                    return (TriggerOutcome.Failed, e, attempts);
                }

                RuntimeTelemetry.InvocationRetries.Add(1, new KeyValuePair<string, object?>("faas.name", function.Name));
                KafkaTriggerLog.LogRetrying(logger, e, function.Name, items.Count, attempts, maxAttempts, delay.TotalMilliseconds);
                if (!consumer.Wait(delay, partitions, stoppingToken))
                {
                    return (TriggerOutcome.Abandoned, null, attempts);
                }

                delay = Backoff(delay, settings.RetryMaxDelay);
            }
        }
    }
}
