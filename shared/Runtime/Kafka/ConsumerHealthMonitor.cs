using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorPipeline.Functions.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Functions.Runtime.Kafka;

/// <summary>
/// Feeds <see cref="ConsumerHealth"/> (and evaluates <see cref="Timers.TimerHealth"/>) with the cluster's view: every quarter of the stall timeout
/// (between 1 and 10 s) it reads every Kafka-triggered function's lag and committed offsets
/// (<see cref="KafkaLagReader"/>), and, with <c>KafkaGroupProtocol=consumer</c>, asks the broker
/// again what it supports when a function here has held no partition for longer than the stall timeout.
/// </summary>
internal sealed partial class ConsumerHealthMonitor(
    ConsumerHealth health,
    Timers.TimerHealth timers,
    KafkaLagReader lags,
    FunctionCatalog catalog,
    IOptions<KafkaConnectionOptions> connection,
    TimeProvider time,
    ILogger<ConsumerHealthMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan ProbeEvery = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var kafka = catalog.All.Any(f => f.Trigger is KafkaTriggerAttribute);
        var interval = TimeSpan.FromTicks(Math.Clamp(health.StallTimeout.Ticks / 4, TimeSpan.TicksPerSecond, 10 * TimeSpan.TicksPerSecond));
        DateTimeOffset? probedAt = null;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            // Evaluating the timers logs a stalled one (once a minute) even when nobody asks.
            _ = timers.Current();
            if (!kafka)
            {
                continue;
            }

            try
            {
                if (connection.Value.GroupProtocol == "consumer" && health.AnyUnassignedTooLong() &&
                    (probedAt is null || time.GetUtcNow() - probedAt > ProbeEvery))
                {
                    probedAt = time.GetUtcNow();
                    health.SetProbe(await KafkaApiVersionsProbe.ProbeAsync(connection.Value.BrokerList, connection.Value.SecurityProtocol, TimeSpan.FromSeconds(5), stoppingToken));
                }

                health.Observe((await lags.ReadAsync(stoppingToken)).Consumers);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The broker is unreachable: readiness says so through its own check.
                LogObserveFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 2033, Level = LogLevel.Debug, Message = "Consumer health: reading lag failed: {Reason}")]
    private static partial void LogObserveFailed(ILogger logger, string reason);
}

/// <summary>
/// At start, with <c>KafkaGroupProtocol=consumer</c> and a Kafka-triggered function enabled: asks a
/// bootstrap broker for its ApiVersions and refuses to start when it lists no ConsumerGroupHeartbeat
/// (Kafka before 4.0, or the protocol disabled): such a consumer would never get a partition, and
/// librdkafka says so only at debug level. A broker that cannot be asked (down, TLS) is not a
/// refusal: the stall rule reports the consumer later if it never joins.
/// </summary>
internal sealed partial class KafkaGroupProtocolCheck(
    ConsumerHealth health,
    FunctionCatalog catalog,
    SettingResolver settings,
    IOptions<KafkaConnectionOptions> connection,
    ILogger<KafkaGroupProtocolCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var kafka = catalog.EnabledWith<KafkaTriggerAttribute>().ToList();
        if (connection.Value.GroupProtocol != "consumer" || kafka.Count == 0)
        {
            return;
        }

        var answer = await KafkaApiVersionsProbe.ProbeAsync(connection.Value.BrokerList, connection.Value.SecurityProtocol, TimeSpan.FromSeconds(5), cancellationToken);
        health.SetProbe(answer);
        switch (answer.Supports(KafkaApiVersionsProbe.ConsumerGroupHeartbeatKey))
        {
            case true:
                return;
            case null:
                LogNotAsked(logger, answer.Error ?? "no answer");
                return;
        }

        var groups = string.Join(", ", kafka.Select(x =>
        {
            var group = x.Trigger.ConsumerGroup ?? x.Function.Name;
            try
            {
                group = settings.Resolve(group, $"function {x.Function.Name}");
            }
            catch (InvalidOperationException)
            {
                // The trigger's own start reports a missing setting.
            }

            return $"{x.Function.Name} (group {group})";
        }));
        var message =
            $"KafkaGroupProtocol=consumer, but the Kafka cluster does not support the consumer group protocol (KIP-848): broker {answer.Broker} " +
            $"lists no ConsumerGroupHeartbeat (API 68) in its ApiVersions answer (Kafka before 4.0, or the protocol is disabled on the brokers). " +
            $"These consumers would never be assigned a partition: {groups}. Set KafkaGroupProtocol=classic.";
        LogRefused(logger, message);
        throw new KafkaGroupProtocolUnsupportedException(message);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2034, Level = LogLevel.Warning, Message = "KafkaGroupProtocol=consumer: could not ask the cluster whether it supports the consumer group protocol ({Reason}); a consumer that never joins will be reported as stalled")]
    private static partial void LogNotAsked(ILogger logger, string reason);

    [LoggerMessage(EventId = 2035, Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogRefused(ILogger logger, string message);
}

/// <summary>The start is refused: the cluster does not support the configured group protocol.</summary>
public sealed class KafkaGroupProtocolUnsupportedException(string message) : InvalidOperationException(message);

public static class ConsumerHealthExtensions
{
    /// <summary>
    /// The consumer health record, its monitor, the start-up group protocol check and the stall
    /// timeout setting (<c>KafkaStallTimeout</c>). Call before the Kafka triggers are registered:
    /// the check must run before they subscribe.
    /// </summary>
    public static IServiceCollection AddKafkaConsumerHealth(this IServiceCollection services)
    {
        services.AddOptions<ConsumerHealthOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ConsumerHealth>();
        services.AddHostedService<KafkaGroupProtocolCheck>();
        services.AddHostedService<ConsumerHealthMonitor>();
        return services;
    }
}
