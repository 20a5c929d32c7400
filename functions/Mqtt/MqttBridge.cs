using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Storage;
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
/// <c>sensorpipeline-bridge</c>) and trusts the broker through that CA. Each replica's client id
/// is a slot held in the database (<see cref="MqttBridgeSlots"/>), not its pod name: a replacement
/// takes the slot of a replica that vanished and resumes the messages the broker queued for it (Mosquitto
/// keeps routing a share of a shared subscription's messages to an offline member's session); a
/// replica stopped while others run unsubscribes, drains and ends its session.
/// </summary>
public sealed partial class MqttBridge(
    IServiceProvider services, DeviceRegistry registry, MqttReadingsIngest ingest, IOptions<DeviceOptions> options, ILogger<MqttBridge> logger) : BackgroundService
{
    public const string BridgeIdentity = "sensorpipeline-bridge";

    /// <summary>A slot not heartbeated for this long is free for another replica to take (and resume its session).</summary>
    internal static readonly TimeSpan SlotStaleAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(5);

    /// <summary>Leaving while others go on: the session is ended once no message came for this long (at most <see cref="DrainLimit"/>).</summary>
    private static readonly TimeSpan DrainQuiet = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(20);

    private volatile bool _reconnect;
    private DeviceAuthority? _authority;
    private int _inFlight;
    private long _lastMessageAt;

    /// <summary>Connected and subscribed (for tests and health).</summary>
    public bool IsSubscribed { get; private set; }

    /// <summary>How many times the bridge has connected and subscribed.</summary>
    public int Subscriptions => _subscriptions;

    /// <summary>The MQTT client id: <c>sensorpipeline-bridge-{group}-{slot}</c>, the slot this replica holds.</summary>
    public string? ClientId { get; private set; }

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
        var slots = services.GetRequiredService<MqttBridgeSlots>();

        var broker = o.MqttBroker!;
        var (host, port) = MqttEndpoint.SplitHostPort(broker);
        var issued = authority.Issue(BridgeIdentity, 0, TimeSpan.FromDays(30));
        using var ephemeral = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.PrivateKeyPem);
        using var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        var group = o.MqttBridgeGroup;
        var holder = $"{Environment.MachineName}-{Guid.NewGuid():N}";
        int slot;
        try
        {
            slot = await ClaimAsync(slots, group, holder, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // A stable client id per slot, not per pod: a replica that replaces another (same slot)
        // resumes its persistent session and the messages the broker queued for it.
        MqttClientOptions ClientOptions(int slot) => new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId($"{BridgeIdentity}-{group}-{slot}")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(86_400)
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost(host).WithClientCertificates([certificate])
                .WithCertificateValidationHandler(e => IsFromDeviceCa(e.Certificate)))
            .Build();
        var clientOptions = ClientOptions(slot);
        ClientId = clientOptions.ClientId;
        using var handling = new CancellationTokenSource();
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e => OnMessageAsync(e, handling.Token);
        var topic = $"$share/{group}/devices/+/readings";
        var lastHeartbeat = Stopwatch.GetTimestamp();
        var framesTopic = $"$share/{group}/devices/+/frames";
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (Stopwatch.GetElapsedTime(lastHeartbeat) >= HeartbeatEvery)
                {
                    lastHeartbeat = Stopwatch.GetTimestamp();
                    if (!await slots.HeartbeatAsync(group, slot, holder, stoppingToken))
                    {
                        // Taken over while this replica could not heartbeat: that session is another's now.
                        LogSlotLost(logger, ClientId!);
                        if (client.IsConnected)
                        {
                            await client.DisconnectAsync(new MqttClientDisconnectOptions(), stoppingToken);
                        }

                        slot = await ClaimAsync(slots, group, holder, stoppingToken);
                        clientOptions = ClientOptions(slot);
                        ClientId = clientOptions.ClientId;
                    }
                }

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
                        // Resubscribing on a resumed session is harmless and covers a lost one
                        // (Mosquitto 2.0 does not restore a shared subscription after its restart).
                        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                            .WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce)
                            .WithTopicFilter(framesTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build(), stoppingToken);
                        IsSubscribed = true;
                        Interlocked.Increment(ref _subscriptions);
                        LogSubscribed(logger, broker, topic, ClientId!, result.IsSessionPresent);
                    }
                }
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException or Npgsql.NpgsqlException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
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

        await LeaveAsync(client, clientOptions, slots, group, slot, holder, [topic, framesTopic], handling);
    }

    /// <summary>
    /// Stopping. With other replicas alive: unsubscribe (Mosquitto stops routing messages to this
    /// session; it would otherwise keep queueing a share of them for it while it is offline),
    /// finish what the session still delivers, then end the session and free the slot. As the last
    /// replica: keep the session (the broker queues for it until a replica takes the slot again)
    /// and leave the slot free but first in line.
    /// </summary>
    private async Task LeaveAsync(IMqttClient client, MqttClientOptions clientOptions, MqttBridgeSlots slots, string group, int slot, string holder, string[] topics, CancellationTokenSource handling)
    {
        var endSession = false;
        try
        {
            endSession = client.IsConnected && await slots.OthersAliveAsync(group, slot, SlotStaleAfter, CancellationToken.None) > 0;
            if (endSession)
            {
                var unsubscribe = new MqttClientUnsubscribeOptionsBuilder();
                foreach (var filter in topics)
                {
                    unsubscribe.WithTopicFilter(filter);
                }

                await client.UnsubscribeAsync(unsubscribe.Build(), CancellationToken.None);
                IsSubscribed = false;
                var drain = Stopwatch.StartNew();
                while (drain.Elapsed < DrainLimit && (Volatile.Read(ref _inFlight) > 0 || Environment.TickCount64 - Interlocked.Read(ref _lastMessageAt) < DrainQuiet.TotalMilliseconds))
                {
                    await Task.Delay(100, CancellationToken.None);
                }
            }
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException or Npgsql.NpgsqlException)
        {
            LogConnectFailed(logger, group, e.Message);
            endSession = false;
        }

        await handling.CancelAsync();
        try
        {
            if (client.IsConnected)
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
            }

            if (endSession)
            {
                // A clean start with no expiry discards the (drained) session; the disconnect ends it.
                var clean = ClientOptionsForCleanup(clientOptions);
                await client.ConnectAsync(clean, CancellationToken.None);
                await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
            }

            await slots.ReleaseAsync(group, slot, holder, sessionKept: !endSession, CancellationToken.None);
            LogLeft(logger, ClientId!, !endSession);
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException or Npgsql.NpgsqlException)
        {
            // The slot goes stale by itself; a session left behind is resumed by the next holder.
            LogConnectFailed(logger, group, e.Message);
        }
    }

    private static MqttClientOptions ClientOptionsForCleanup(MqttClientOptions options)
    {
        options.CleanSession = true;
        options.SessionExpiryInterval = 0;
        return options;
    }

    private async Task<int> ClaimAsync(MqttBridgeSlots slots, string group, string holder, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                if (await slots.TryClaimAsync(group, holder, SlotStaleAfter, cancellationToken) is { } slot)
                {
                    return slot;
                }
            }
            catch (Npgsql.NpgsqlException e)
            {
                LogConnectFailed(logger, "the database (bridge slot)", e.Message);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e, CancellationToken stoppingToken)
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Exchange(ref _lastMessageAt, Environment.TickCount64);
        try
        {
            await HandleAsync(e, stoppingToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task HandleAsync(MqttApplicationMessageReceivedEventArgs e, CancellationToken stoppingToken)
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

    [LoggerMessage(EventId = 615, Level = LogLevel.Information, Message = "MQTT bridge connected to {Broker} as {ClientId} and subscribed to {Topic} (session resumed: {Resumed})")]
    private static partial void LogSubscribed(ILogger logger, string broker, string topic, string clientId, bool resumed);

    [LoggerMessage(EventId = 623, Level = LogLevel.Warning, Message = "MQTT bridge lost its slot {ClientId} to another replica (no heartbeat for a while); claiming another")]
    private static partial void LogSlotLost(ILogger logger, string clientId);

    [LoggerMessage(EventId = 624, Level = LogLevel.Information, Message = "MQTT bridge {ClientId} left (session kept for the next replica: {SessionKept})")]
    private static partial void LogLeft(ILogger logger, string clientId, bool sessionKept);

    [LoggerMessage(EventId = 616, Level = LogLevel.Warning, Message = "MQTT bridge cannot connect to {Broker}: {Reason}; retrying")]
    private static partial void LogConnectFailed(ILogger logger, string broker, string reason);
}
