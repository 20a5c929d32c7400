using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Functions.Devices;

namespace SensorPipeline.Functions.Mqtt;

/// <summary>
/// The bridge to an external MQTT 5 broker (<c>MqttBroker</c> set; Mosquitto is the reference):
/// a persistent session (clean start off, a day's session expiry) with the shared subscription
/// <c>$share/{MqttBridgeGroup}/devices/+/readings</c> at QoS 1, so replicas split the load. The
/// broker's ACL (<c>pattern write devices/%u/#</c> with the certificate's CN as user name) makes
/// the topic's device the publisher; the bridge refuses revoked devices' messages (Mosquitto keeps
/// their sessions open). A message is acknowledged (<c>AutoAcknowledge = false</c>, then
/// <c>AcknowledgeAsync</c>) only after Kafka acknowledged its readings, or once it is refused for
/// good; on a Kafka failure the bridge reconnects without acknowledging, and the broker delivers
/// the message again. The bridge authenticates with a certificate of the device CA (CN
/// <c>sensorpipeline-bridge</c>) and trusts the broker through that CA.
/// </summary>
public sealed partial class MqttBridge(
    IServiceProvider services, DeviceRegistry registry, MqttReadingsIngest ingest, IOptions<DeviceOptions> options, ILogger<MqttBridge> logger) : BackgroundService
{
    public const string BridgeIdentity = "sensorpipeline-bridge";

    private volatile bool _reconnect;
    private DeviceAuthority? _authority;

    /// <summary>Connected and subscribed (for tests and health).</summary>
    public bool IsSubscribed { get; private set; }

    /// <summary>How many times the bridge has connected and subscribed.</summary>
    public int Subscriptions => _subscriptions;

    private int _subscriptions;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.HasExternalBroker || !o.DoorsEnabled)
        {
            return;
        }

        var authority = services.GetRequiredService<DeviceAuthority>();
        _authority = authority;

        var broker = o.MqttBroker!;
        var (host, port) = MqttEndpoint.SplitHostPort(broker);
        var issued = authority.Issue(BridgeIdentity, 0, TimeSpan.FromDays(30));
        using var ephemeral = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.PrivateKeyPem);
        using var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId($"{BridgeIdentity}-{o.MqttBridgeGroup}-{Environment.MachineName}")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(86_400)
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost(host).WithClientCertificates([certificate])
                .WithCertificateValidationHandler(e => IsFromDeviceCa(e.Certificate)))
            .Build();
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e => OnMessageAsync(e, stoppingToken);
        var topic = $"$share/{o.MqttBridgeGroup}/devices/+/readings";
        var framesTopic = $"$share/{o.MqttBridgeGroup}/devices/+/frames";
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_reconnect && client.IsConnected)
                {
                    await client.DisconnectAsync(new MqttClientDisconnectOptions(), stoppingToken);
                }

                _reconnect = false;
                if (!client.IsConnected)
                {
                    IsSubscribed = false;
                    var result = await client.ConnectAsync(clientOptions, stoppingToken);
                    if (result.ResultCode != MqttClientConnectResultCode.Success)
                    {
                        LogConnectFailed(logger, broker, result.ResultCode.ToString());
                    }
                    else
                    {
                        // Resubscribing on a resumed session is harmless and covers a lost one.
                        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                            .WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce)
                            .WithTopicFilter(framesTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build(), stoppingToken);
                        IsSubscribed = true;
                        Interlocked.Increment(ref _subscriptions);
                        LogSubscribed(logger, broker, topic, result.IsSessionPresent);
                    }
                }
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                LogConnectFailed(logger, broker, e.Message);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        if (client.IsConnected)
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e, CancellationToken stoppingToken)
    {
        e.AutoAcknowledge = false;
        var message = e.ApplicationMessage;
        var deviceId = DeviceRules.DeviceOfTopic(message.Topic);
        if (deviceId is null || !DeviceRules.IsValidDeviceId(deviceId) || await registry.ActiveDeviceAsync(deviceId, stoppingToken) is null)
        {
            // Not a device's topic, or its credentials are revoked: refused for good.
            MqttTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", "revoked"));
            await e.AcknowledgeAsync(stoppingToken);
            return;
        }

        ReadOnlyMemory<byte> payload = message.Payload.IsSingleSegment ? message.Payload.First : System.Buffers.BuffersExtensions.ToArray(message.Payload);
        var (outcome, _) = await ingest.IngestAsync(deviceId, message.Topic, payload, stoppingToken);
        if (outcome == MqttIngestOutcome.KafkaUnavailable)
        {
            // Unacknowledged: the broker delivers it again on the resumed session.
            e.ProcessingFailed = true;
            _reconnect = true;
            return;
        }

        await e.AcknowledgeAsync(stoppingToken);
    }

    private bool IsFromDeviceCa(System.Security.Cryptography.X509Certificates.X509Certificate certificate)
    {
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_authority!.CaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented);
    }

    [LoggerMessage(EventId = 615, Level = LogLevel.Information, Message = "MQTT bridge connected to {Broker} and subscribed to {Topic} (session resumed: {Resumed})")]
    private static partial void LogSubscribed(ILogger logger, string broker, string topic, bool resumed);

    [LoggerMessage(EventId = 616, Level = LogLevel.Warning, Message = "MQTT bridge cannot connect to {Broker}: {Reason}; retrying")]
    private static partial void LogConnectFailed(ILogger logger, string broker, string reason);
}
