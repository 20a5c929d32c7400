using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Kafka;

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
