using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// Enrolled devices publishing over MQTT 5 with mutual TLS, QoS 1, each its own connection: a
/// message is <c>--mqtt-batch</c> readings, one per sensor <c>{deviceId}:{k}</c>, all recorded at
/// the moment of publishing (so calibrated_at − recorded_at is publish → calibrated row). A device
/// publishes its next message when the last one's PUBACK came back (the embedded broker sends it
/// after Kafka acknowledged), so the load is closed-loop: flat out, bounded by the backlog monitor,
/// or with <c>--rate</c> on a schedule shared by all devices (message k due at start + k × batch / rate).
/// </summary>
internal sealed class MqttLoadGenerator(BenchmarkOptions options, IReadOnlyList<EnrolledDevice> devices, BacklogMonitor? backlog)
{
    private long _steadyStart = long.MaxValue;
    private long _steadyEnd = long.MaxValue;

    public sealed class DeviceStats
    {
        public long AcceptedTotal;
        public long AcceptedSteady;
        public long PublishesSteady;
        public Dictionary<string, long> Failures { get; } = [];
        public List<double> SteadyAckMs { get; } = [];
        public Dictionary<int, long> AcceptedByBucket { get; } = [];
    }

    public void SetSteadyWindow(long start, long end)
    {
        Volatile.Write(ref _steadyStart, start);
        Volatile.Write(ref _steadyEnd, end);
    }

    public async Task<IReadOnlyList<DeviceStats>> RunAsync(CancellationToken stop, CancellationToken abort)
    {
        var pacer = new LoadPacer(options, options.MqttBatch, backlog);
        var tasks = devices.Select(d => Task.Run(() => DeviceAsync(d, pacer, stop, abort), abort)).ToArray();
        return await Task.WhenAll(tasks);
    }

    private async Task<DeviceStats> DeviceAsync(EnrolledDevice device, LoadPacer pacer, CancellationToken stop, CancellationToken abort)
    {
        var stats = new DeviceStats();
        using var ephemeral = X509Certificate2.CreateFromPem(device.CertificatePem, device.PrivateKeyPem);
        using var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        using var ca = X509Certificate2.CreateFromPem(device.CaPem);
        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(device.Host, device.Port)
            .WithClientId(device.Id)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(60))
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost(device.Host).WithClientCertificates([certificate])
                .WithCertificateValidationHandler(e =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var presented = X509CertificateLoader.LoadCertificate(e.Certificate.GetRawCertData());
                    return chain.Build(presented);
                }))
            .Build();
        using var client = new MqttClientFactory().CreateMqttClient();
        var buffer = new ArrayBufferWriter<byte>(options.MqttBatch * 96);
        var retrying = false;
        while (!stop.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            if (!await pacer.NextAsync(scheduled: !retrying, stop))
            {
                break;
            }

            // Written afresh even when resent: recorded_at is the moment of this publish.
            WriteMessage(buffer, device.Id);
            var sent = Stopwatch.GetTimestamp();
            string? failure = null;
            try
            {
                if (!client.IsConnected)
                {
                    await client.ConnectAsync(clientOptions, abort);
                }

                var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(device.Topic).WithPayload(buffer.WrittenMemory.ToArray())
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), abort);
                if (!result.IsSuccess || result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers)
                {
                    failure = "puback " + result.ReasonCode;
                }
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException or OperationCanceledException && !abort.IsCancellationRequested)
            {
                failure = e.GetType().Name;
            }

            var done = Stopwatch.GetTimestamp();
            var steady = done >= Volatile.Read(ref _steadyStart) && done < Volatile.Read(ref _steadyEnd);
            if (failure is null)
            {
                stats.AcceptedTotal += options.MqttBatch;
                if (steady)
                {
                    stats.AcceptedSteady += options.MqttBatch;
                    stats.PublishesSteady++;
                    stats.SteadyAckMs.Add(Stopwatch.GetElapsedTime(sent, done).TotalMilliseconds);
                    var bucket = (int)(Stopwatch.GetElapsedTime(_steadyStart, done).TotalSeconds / 5);
                    stats.AcceptedByBucket[bucket] = stats.AcceptedByBucket.GetValueOrDefault(bucket) + options.MqttBatch;
                }
            }
            else
            {
                stats.Failures[failure] = stats.Failures.GetValueOrDefault(failure) + 1;
            }

            // A refused or lost publish is sent again (as a device would), after a pause.
            retrying = failure is not null;
            if (retrying)
            {
                pacer.GiveBack();
                try
                {
                    await Task.Delay(200, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        if (client.IsConnected)
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }

        return stats;
    }

    private void WriteMessage(ArrayBufferWriter<byte> buffer, string deviceId)
    {
        buffer.ResetWrittenCount();
        var now = DateTimeOffset.UtcNow;
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartArray();
        for (var k = 0; k < options.MqttBatch; k++)
        {
            writer.WriteStartObject();
            writer.WriteString("sensorId", $"{deviceId}:{k}");
            writer.WriteString("recordedAt", now);
            writer.WriteNumber("value", Math.Round(20 + 10 * Math.Sin(now.Ticks / 6e11 + k) + k * 0.13, 2));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}
