using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Kafka;

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
