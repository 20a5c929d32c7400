using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;

namespace SensorPipeline.Tests.Devices;

/// <summary>The MQTT door on the embedded broker: mutual TLS with the device CA, own topic only, acknowledged after Kafka.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class MqttDoorTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("mqtt"));
        RequireKeys(settings);
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static readonly DateTimeOffset At = new(2026, 11, 21, 8, 0, 0, TimeSpan.Zero);

    internal static X509Certificate2 ClientCertificate(string certificatePem, string privateKeyPem)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    internal static MqttClientOptions Options(EnrolledDevice device, X509Certificate2? certificate, string? clientId = null)
    {
        var ca = X509Certificate2.CreateFromPem(device.CaCertificatePem);
        return new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", device.MqttPort)
            .WithClientId(clientId ?? device.DeviceId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost("localhost");
                if (certificate is not null)
                {
                    tls.WithClientCertificates([certificate]);
                }

                // The device trusts the broker through the CA it got at enrolment, and nothing else.
                tls.WithCertificateValidationHandler(e =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(e.Certificate));
                });
            })
            .Build();
    }

    internal static async Task<IMqttClient> ConnectAsync(EnrolledDevice device)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(Options(device, ClientCertificate(device.CertificatePem, device.PrivateKeyPem)));
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    internal static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, string payload) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    [Fact]
    public async Task Enrolled_device_publishes_over_mutual_TLS_and_its_readings_are_calibrated_while_foreign_topics_and_malformed_payloads_store_nothing()
    {
        var device = await EnrolAsync(_app, "ctl-1");
        await EnrolAsync(_app, "ctl-2");
        Assert.True(device.MqttPort > 0);
        using var client = await ConnectAsync(device);

        var accepted = await PublishAsync(client, device.Topic, "[" + Reading("ctl-1", At, 20.5) + "," + Reading("ctl-1:b", At, 21.5) + "]");
        Assert.Equal(MqttClientPublishReasonCode.Success, accepted.ReasonCode);
        // PUBACK came after Kafka's acknowledgement: the readings are on temperature.raw already.
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id like 'ctl-1%'"), n => n == 2, TimeSpan.FromSeconds(60), "2 calibrated rows of ctl-1");

        // Another device's topic: refused, nothing stored.
        var foreign = await PublishAsync(client, "devices/ctl-2/readings", Reading("ctl-2", At, 30));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, foreign.ReasonCode);
        // Its own topic with another device's sensor: refused too.
        var foreignSensor = await PublishAsync(client, device.Topic, Reading("ctl-2", At.AddMinutes(1), 31));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, foreignSensor.ReasonCode);

        // A malformed payload is refused and the session goes on.
        var malformed = await PublishAsync(client, device.Topic, "{not json");
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, malformed.ReasonCode);
        Assert.True(client.IsConnected);
        var after = await PublishAsync(client, device.Topic, Reading("ctl-1", At.AddMinutes(2), 22.5));
        Assert.Equal(MqttClientPublishReasonCode.Success, after.ReasonCode);

        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id like 'ctl-1%'"), n => n == 3, TimeSpan.FromSeconds(60), "3 calibrated rows of ctl-1");
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from raw_data where sensor_id like 'ctl-2%'"));
        Assert.Equal(2, await _app.ScalarAsync("select count(*) from device_sensor where device_id = 'ctl-1'"));
    }

    internal static async Task<string> TryConnectAsync(IMqttClient client, MqttClientOptions options)
    {
        try
        {
            var result = await client.ConnectAsync(options);
            return result.ResultCode == MqttClientConnectResultCode.Success ? "connected" : "refused";
        }
        catch (Exception e) when (e is MqttCommunicationException or InvalidOperationException or System.Security.Authentication.AuthenticationException or IOException)
        {
            return "refused";
        }
    }

    [Fact]
    public async Task No_certificate_another_CA_a_wrong_client_id_and_a_revoked_certificate_are_refused_and_revocation_drops_the_open_session()
    {
        var device = await EnrolAsync(_app, "ctl-3");

        // No client certificate: the TLS handshake fails.
        using (var anonymous = new MqttClientFactory().CreateMqttClient())
        {
            Assert.Equal("refused", await TryConnectAsync(anonymous, Options(device, null)));
            Assert.False(anonymous.IsConnected);
        }

        // A certificate with the right CN from another CA.
        using (var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=ctl-3", otherKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
            using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
            using var foreign = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), null);
            using var impostor = new MqttClientFactory().CreateMqttClient();
            Assert.Equal("refused", await TryConnectAsync(impostor, Options(device, foreign)));
            Assert.False(impostor.IsConnected);
        }

        // The right certificate under another client id.
        using (var other = new MqttClientFactory().CreateMqttClient())
        {
            Assert.Equal("refused", await TryConnectAsync(other, Options(device, ClientCertificate(device.CertificatePem, device.PrivateKeyPem), clientId: "ctl-4")));
        }

        // Connected, then revoked: the open session is dropped, and the certificate no longer connects.
        using var client = await ConnectAsync(device);
        var disconnected = new TaskCompletionSource();
        client.DisconnectedAsync += _ => { disconnected.TrySetResult(); return Task.CompletedTask; };
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(_app, "ctl-3")).StatusCode);
        await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(client.IsConnected);

        using var again = new MqttClientFactory().CreateMqttClient();
        Assert.Equal("refused", await TryConnectAsync(again, Options(device, ClientCertificate(device.CertificatePem, device.PrivateKeyPem))));
        Assert.False(again.IsConnected);

        // Enrolled again: the new certificate connects, the old one stays refused.
        var renewed = await EnrolAsync(_app, "ctl-3");
        using var fresh = await ConnectAsync(renewed);
        Assert.True(fresh.IsConnected);
        using var stale = new MqttClientFactory().CreateMqttClient();
        Assert.Equal("refused", await TryConnectAsync(stale, Options(device, ClientCertificate(device.CertificatePem, device.PrivateKeyPem))));
    }

    [Fact]
    public async Task Another_devices_certificate_cannot_take_over_a_connected_devices_client_id()
    {
        var victim = await EnrolAsync(_app, "ctl-5");
        var thief = await EnrolAsync(_app, "ctl-6");
        using var connected = await ConnectAsync(victim);
        var dropped = false;
        connected.DisconnectedAsync += _ => { dropped = true; return Task.CompletedTask; };

        // ctl-6's valid certificate under ctl-5's client id: refused (MQTT would otherwise end ctl-5's session).
        using var takeover = new MqttClientFactory().CreateMqttClient();
        Assert.Equal("refused", await TryConnectAsync(takeover, Options(thief, ClientCertificate(thief.CertificatePem, thief.PrivateKeyPem), clientId: "ctl-5")));
        Assert.False(takeover.IsConnected);

        // ctl-5 keeps its session: its next publish is acknowledged and stored.
        var result = await PublishAsync(connected, "devices/ctl-5/readings", Reading("ctl-5", At.AddMinutes(30), 20.5));
        Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);
        Assert.True(connected.IsConnected);
        Assert.False(dropped);
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from raw_data where sensor_id = 'ctl-5'"), n => n == 1, TimeSpan.FromSeconds(30), "ctl-5's reading stored");
    }

    [Fact]
    public void The_embedded_broker_listens_on_loopback_only_by_default()
    {
        var port = _app.Services.GetRequiredService<SensorPipeline.Functions.Mqtt.EmbeddedMqttBroker>().Port;
        // The kernel's own list of listening sockets (state 0A) on the broker's port.
        var listening = new[] { "/proc/net/tcp", "/proc/net/tcp6" }
            .Where(File.Exists)
            .SelectMany(File.ReadLines)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 3 && f[3] == "0A" && f[1].EndsWith(":" + port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            .Select(f => f[1][..f[1].IndexOf(':', StringComparison.Ordinal)])
            .ToList();
        Assert.NotEmpty(listening);
        // 127.0.0.1 is 0100007F, ::1 is 00000000000000000000000001000000; 0.0.0.0 / :: would be all zeros.
        Assert.All(listening, address => Assert.Contains(address, new[] { "0100007F", "00000000000000000000000001000000" }));
    }
}
