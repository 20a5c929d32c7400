using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>Runs one consume loop, on its own thread, per enabled Kafka-triggered function.</summary>
internal sealed partial class KafkaTriggersService(
    FunctionCatalog catalog,
    SettingResolver settings,
    IOptions<FunctionsHostOptions> host,
    IOptions<KafkaConnectionOptions> connection,
    IOptions<FunctionsSerializerOptions> serializer,
    FunctionInvoker invoker,
    KafkaPublisher publisher,
    ConsumerLagRegistry lags,
    ConsumerHealth health,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var logger = loggers.CreateLogger<KafkaTriggersService>();
        var consumers = host.Value.Extensions.Kafka.ConsumersPerFunction;
        var loops = catalog.EnabledWith<KafkaTriggerAttribute>()
            .SelectMany(x => Enumerable.Range(0, consumers).Select(instance => (x.Function, x.Trigger, Instance: instance)))
            .Select(x =>
        {
            var listener = Create(x.Function, x.Trigger, serializer.Value.Json, x.Instance);
            return Task.Factory.StartNew(() =>
            {
                try
                {
                    listener.Run(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogLoopCrashed(logger, e, x.Function.Name);
                    lifetime.StopApplication();
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }).ToList();
        return Task.WhenAll(loops);
    }

    internal KafkaTriggerListener Create(FunctionDescriptor function, KafkaTriggerAttribute trigger, JsonSerializerOptions json, int instance = 0)
    {
        var usedBy = $"function {function.Name}";
        var kafka = host.Value.Extensions.Kafka;
        var topic = settings.Resolve(trigger.Topic, usedBy);
        var group = settings.Resolve(trigger.ConsumerGroup ?? function.Name, usedBy);
        var config = connection.Value.Apply(new ConsumerConfig
        {
            BootstrapServers = settings.Resolve(trigger.BrokerList, usedBy),
            GroupId = group,
            ClientId = $"{function.Name}-{Environment.MachineName}-{instance}",
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoCommitIntervalMs = kafka.AutoCommitIntervalMs,
            AutoOffsetReset = kafka.AutoOffsetReset == "latest" ? AutoOffsetReset.Latest : AutoOffsetReset.Earliest,
            FetchWaitMaxMs = kafka.FetchWaitMaxMs,
            QueuedMaxMessagesKbytes = 16 * 1024,
        });
        if (connection.Value.GroupProtocol == "consumer")
        {
            config.GroupProtocol = GroupProtocol.Consumer;
        }
        else
        {
            config.GroupProtocol = GroupProtocol.Classic;
            config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
        }

        var (maxRetries, initialDelay, maxDelay) = RetryPolicy(function, kafka);
        var triggerSettings = new KafkaTriggerSettings(
            topic,
            topic + kafka.DeadLetterSuffix,
            config,
            kafka.MaxBatchSize,
            kafka.MaxBatchWait,
            maxRetries,
            initialDelay,
            maxDelay);
        var binder = new KafkaMessageBinder(function, trigger.IsBatched, json);
        var throttle = kafka.Throttle.GetValueOrDefault(function.Name);
        return new KafkaTriggerListener(function, triggerSettings, binder, invoker, publisher, lags, throttle, instance, loggers.CreateLogger("SensorPipeline.Functions.Kafka." + function.Name), health);
    }

    /// <summary>
    /// The function's retries: its <c>[FixedDelayRetry]</c> or <c>[ExponentialBackoffRetry]</c>
    /// (the Worker's attributes), else host.json <c>extensions.kafka</c>. A negative count (the
    /// official host's "forever") is host.json's bound here: a message that keeps failing goes to
    /// the dead-letter topic rather than stopping its partition.
    /// </summary>
    internal static (int MaxRetries, TimeSpan InitialDelay, TimeSpan MaxDelay) RetryPolicy(FunctionDescriptor function, KafkaExtensionOptions kafka)
    {
        var usedBy = $"function {function.Name}: retry";
        switch (function.Retry)
        {
            case FixedDelayRetryAttribute fixedDelay:
                var delay = ParseInterval(fixedDelay.DelayInterval, usedBy);
                return (Count(fixedDelay.MaxRetryCount), delay, delay);
            case ExponentialBackoffRetryAttribute backoff:
                var min = ParseInterval(backoff.MinimumInterval, usedBy);
                var max = ParseInterval(backoff.MaximumInterval, usedBy);
                return max < min
                    ? throw new InvalidOperationException($"{usedBy}: maximumInterval {backoff.MaximumInterval} is shorter than minimumInterval {backoff.MinimumInterval}.")
                    : (Count(backoff.MaxRetryCount), min, max);
            default:
                return (kafka.MaxRetries, kafka.RetryInitialDelay, kafka.RetryMaxDelay);
        }

        int Count(int retries) => retries < 0 ? kafka.MaxRetries : retries;
    }

    private static TimeSpan ParseInterval(string value, string usedBy) =>
        TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var interval) && interval >= TimeSpan.Zero
            ? interval
            : throw new InvalidOperationException($"{usedBy}: '{value}' is not an interval (hh:mm:ss).");

    [LoggerMessage(EventId = 2020, Level = LogLevel.Critical, Message = "The consume loop of {Function} failed fatally; stopping the host")]
    private static partial void LogLoopCrashed(ILogger logger, Exception exception, string function);
}

/// <summary>How Kafka message values are deserialized (set the app's source-generated context here).</summary>
public sealed class FunctionsSerializerOptions
{
    public JsonSerializerOptions Json { get; set; } = new(JsonSerializerDefaults.Web);
}
