using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Devices;

namespace SensorPipeline.Functions.Mqtt;

/// <summary>
/// The embedded MQTT 5 broker (MQTTnet) for local runs, when <c>MqttBroker</c> is not set: TLS
/// only, a client certificate from the device CA required (CN = device id = MQTT client id, and
/// the registry's current certificate of an enrolled, unrevoked device), publishing only to
/// <c>devices/{its id}/readings</c>, no subscriptions. The broker is its own bridge: the publish
/// interceptor produces the readings to <c>temperature.raw</c> and awaits Kafka's acknowledgement,
/// and MQTTnet sends the device's PUBACK only after the interceptor returned — a QoS 1 message is
/// acknowledged to the device only once Kafka has it. A Kafka failure closes the connection with
/// no acknowledgement (the device sends again); a refused message gets a negative PUBACK and the
/// session goes on. Revocation drops an open session (<see cref="MqttEndpoint.DisconnectAsync"/>),
/// and every publish re-checks the registry (cached for <see cref="DeviceRegistry.CredentialTtl"/>).
/// </summary>
public sealed partial class EmbeddedMqttBroker : IHostedService, IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private DeviceAuthority _authority = null!;
    private readonly DeviceRegistry _registry;
    private readonly MqttReadingsIngest _ingest;
    private readonly MqttEndpoint _endpoint;
    private readonly DeviceOptions _options;
    private readonly ILogger<EmbeddedMqttBroker> _logger;
    private MqttServer? _server;
    private X509Certificate2? _serverCertificate;

    public EmbeddedMqttBroker(IServiceProvider services, DeviceRegistry registry, MqttReadingsIngest ingest, MqttEndpoint endpoint, IOptions<DeviceOptions> options, ILogger<EmbeddedMqttBroker> logger)
    {
        _services = services;
        _registry = registry;
        _ingest = ingest;
        _endpoint = endpoint;
        _options = options.Value;
        _logger = logger;
        Enabled = string.IsNullOrWhiteSpace(_options.MqttBroker) && _options.DoorsEnabled;
        // The port is chosen here, so that the start banner can print it before the broker starts.
        Port = _options.MqttPort != 0 ? _options.MqttPort : FreePort();
        if (Enabled)
        {
            endpoint.Port = Port;
        }
    }

    /// <summary>False when <c>MqttBroker</c> names an external broker, or the device doors are off.</summary>
    public bool Enabled { get; }

    public int Port { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        _authority = _services.GetRequiredService<DeviceAuthority>();
        _serverCertificate = _authority.IssueServerCertificate(_options.MqttHost);
        // Loopback unless MqttListenAddress says otherwise: devices elsewhere reach a broker only where one is meant for them.
        var (v4, v6) = _options.MqttListenAddresses()!.Value;
        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointBoundIPAddress(v4)
            .WithEncryptedEndpointBoundIPV6Address(v6)
            .WithEncryptedEndpointPort(Port)
            .WithEncryptionCertificate(_serverCertificate)
            .WithClientCertificate(ValidateClientCertificate, false)
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        server.ValidatingConnectionAsync += OnConnectingAsync;
        server.InterceptingPublishAsync += OnPublishAsync;
        server.InterceptingSubscriptionAsync += args =>
        {
            // Devices publish; nobody reads another device's readings through this broker.
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            return Task.CompletedTask;
        };
        server.QueuedApplicationMessageOverwrittenAsync += args =>
        {
            MqttTelemetry.QueueOverflow.Add(1);
            LogQueueOverflow(_logger, args.ReceiverClientId);
            return Task.CompletedTask;
        };
        await server.StartAsync();
        _server = server;
        _endpoint.Disconnect = DisconnectAsync;
        LogStarted(_logger, Port, _options.MqttListenAddress);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server)
        {
            _endpoint.Disconnect = null;
            await server.StopAsync(new MqttServerStopOptions());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            server.Dispose();
        }

        _serverCertificate?.Dispose();
        await Task.CompletedTask;
    }

    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            MqttTelemetry.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "no_certificate"));
            return false;
        }

        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var ok = _authority.IsIssuedClientCertificate(presented);
        if (!ok)
        {
            MqttTelemetry.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "untrusted_certificate"));
        }

        return ok;
    }

    private async Task OnConnectingAsync(ValidatingConnectionEventArgs args)
    {
        if (args.ClientCertificate is not { } certificate || DeviceAuthority.CommonName(certificate) is not { } deviceId)
        {
            args.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            return;
        }

        if (!string.Equals(args.ClientId, deviceId, StringComparison.Ordinal))
        {
            MqttTelemetry.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "client_id_mismatch"));
            args.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            args.ReasonString = "The MQTT client id must be the certificate's CN (the device id).";
            return;
        }

        var device = await _registry.ActiveDeviceAsync(deviceId, args.CancellationToken);
        if (!IsCurrent(device, certificate))
        {
            MqttTelemetry.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "revoked"));
            LogRefusedConnection(_logger, deviceId);
            args.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            args.ReasonString = "The device's credentials are revoked or superseded.";
            return;
        }

        args.SessionItems["thumbprint"] = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        MqttTelemetry.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "accepted"));
    }

    private static bool IsCurrent(Device? device, X509Certificate2 certificate) =>
        device is { CredentialState: Device.Active, CertificateThumbprint: { } thumbprint } &&
        string.Equals(thumbprint, certificate.GetCertHashString(HashAlgorithmName.SHA256), StringComparison.OrdinalIgnoreCase);

    private async Task OnPublishAsync(InterceptingPublishEventArgs args)
    {
        // Nothing is routed to subscribers (there are none): the interceptor is the bridge.
        args.ProcessPublish = false;
        var deviceId = args.ClientId;
        var device = await _registry.ActiveDeviceAsync(deviceId, args.CancellationToken);
        if (device is null || !string.Equals(device.CertificateThumbprint, args.SessionItems["thumbprint"] as string, StringComparison.OrdinalIgnoreCase))
        {
            args.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            args.CloseConnection = true;
            return;
        }

        var message = args.ApplicationMessage;
        ReadOnlyMemory<byte> payload = message.Payload.IsSingleSegment ? message.Payload.First : System.Buffers.BuffersExtensions.ToArray(message.Payload);
        var (outcome, reason) = await _ingest.IngestAsync(deviceId, message.Topic, payload, args.CancellationToken);
        switch (outcome)
        {
            case MqttIngestOutcome.Accepted:
                args.Response.ReasonCode = MqttPubAckReasonCode.Success;
                break;
            case MqttIngestOutcome.ForeignTopic or MqttIngestOutcome.ForeignSensor:
                args.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
                args.Response.ReasonString = reason;
                break;
            case MqttIngestOutcome.Malformed:
                args.Response.ReasonCode = MqttPubAckReasonCode.PayloadFormatInvalid;
                args.Response.ReasonString = reason;
                break;
            default:
                // No PUBACK: a broker does not resend after a negative one, so the connection is
                // closed and the device sends the unacknowledged message again after reconnecting.
                args.Response.ReasonCode = MqttPubAckReasonCode.ImplementationSpecificError;
                args.CloseConnection = true;
                break;
        }
    }

    private async Task<bool> DisconnectAsync(string deviceId)
    {
        if (_server is not { } server || (await server.GetClientsAsync()).All(c => c.Id != deviceId))
        {
            return false;
        }

        await server.DisconnectClientAsync(deviceId, new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.AdministrativeAction, ReasonString = "Credentials revoked." });
        return true;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LoggerMessage(EventId = 612, Level = LogLevel.Information, Message = "Embedded MQTT broker listening on TLS port {Port} of {ListenAddress} (MqttListenAddress; client certificates from the device CA required)")]
    private static partial void LogStarted(ILogger logger, int port, string listenAddress);

    [LoggerMessage(EventId = 613, Level = LogLevel.Information, Message = "Refused the MQTT connection of device {DeviceId}: credentials revoked or superseded")]
    private static partial void LogRefusedConnection(ILogger logger, string deviceId);

    [LoggerMessage(EventId = 614, Level = LogLevel.Warning, Message = "The embedded MQTT broker dropped a queued message of client {ClientId}: its queue was full")]
    private static partial void LogQueueOverflow(ILogger logger, string clientId);
}
