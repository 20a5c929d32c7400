using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorPipeline.Functions.Devices;
using Spectre.Console;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// <c>simulate</c>: enrols <c>--devices</c> devices on a running app (master key), then each sends
/// <c>--rate</c> readings per second for <c>--duration</c> seconds over MQTT (mutual TLS, QoS 1),
/// signed HTTP, or both (even devices MQTT, odd HTTP): a daily cycle, noise, a slow drift, now and
/// then a stuck or spiking sensor. On a terminal a live table (sent, acknowledged, refused, failed
/// per transport and device group); redirected (CI, a file) a plain line per second; then a
/// summary; exit 1 when anything was not acknowledged.
/// </summary>
internal static class SimulateCommand
{
    private sealed record SimDevice(string Id, string Secret, string CertificatePem, string PrivateKeyPem, string CaPem, string MqttHost, int MqttPort, string Topic);

    private sealed class Counters
    {
        public long Sent;
        public long Acknowledged;
        public long Refused;
        public long Failed;
    }

    /// <summary>What a device does besides the daily cycle (see <see cref="Temperature"/>): a row of the live table per transport and group.</summary>
    private static string Group(int device) => (device % 10) switch
    {
        7 => "sticks now and then",
        1 => "spikes now and then",
        _ => "steady",
    };

    private static readonly string[] Groups = ["steady", "sticks now and then", "spikes now and then"];

    public static Task<int> RunAsync(string url, string? key, int devices, double rate, string transport, int duration, CancellationToken cancellationToken) =>
        RunAsync(AnsiConsole.Console, url, key, devices, rate, transport, duration, provisioningSecret: null, cancellationToken);

    /// <summary>With <paramref name="provisioningSecret"/> the devices provision themselves (fleet provisioning's signed startup event) instead of being enrolled with the master key.</summary>
    public static Task<int> RunAsync(string url, string? key, int devices, double rate, string transport, int duration, string? provisioningSecret, CancellationToken cancellationToken) =>
        RunAsync(AnsiConsole.Console, url, key, devices, rate, transport, duration, provisioningSecret, cancellationToken);

    /// <summary>As above, writing to <paramref name="console"/>: a live table when it is interactive, plain lines when not.</summary>
    public static async Task<int> RunAsync(IAnsiConsole console, string url, string? key, int devices, double rate, string transport, int duration, string? provisioningSecret, CancellationToken cancellationToken)
    {
        if (devices is < 1 or > 10_000 || rate is <= 0 or > 1000 || duration < 1 || transport is not ("mqtt" or "http" or "both"))
        {
            await Console.Error.WriteLineAsync("--devices 1..10000, --rate > 0 (readings per second per device), --duration >= 1 (seconds), --transport mqtt|http|both.");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        var run = Guid.NewGuid().ToString("N")[..6];
        var enrolled = new List<SimDevice>();
        var provision = !string.IsNullOrEmpty(provisioningSecret);
        Line(console, provision
            ? $"Provisioning {devices} devices (hardware ids sim:{run}:NNN, startup events signed with the provisioning secret) on {url} ..."
            : $"Enrolling {devices} devices (sim-{run}-NNN) on {url} ...");
        try
        {
            foreach (var i in Enumerable.Range(0, devices))
            {
                using var request = provision
                    ? StartupRequest(provisioningSecret!, JsonSerializer.Serialize(new { hardwareId = $"sim:{run}:{i:000}", firmware = "simulate-1.0" }))
                    : new HttpRequestMessage(HttpMethod.Post, "/api/devices")
                    {
                        Content = new StringContent(JsonSerializer.Serialize(new { deviceId = $"sim-{run}-{i:000}" }), Encoding.UTF8, "application/json"),
                    };
                if (!provision && !string.IsNullOrEmpty(key))
                {
                    request.Headers.Add("x-functions-key", key);
                }

                using var response = await http.SendAsync(request, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode != System.Net.HttpStatusCode.Created)
                {
                    await Console.Error.WriteLineAsync($"{(provision ? "Provisioning" : "Enrolment")} refused ({(int)response.StatusCode}): {text}");
                    return (int)response.StatusCode is 401 or 403 ? 5 : 1;
                }

                using var json = JsonDocument.Parse(text);
                var r = json.RootElement;
                var mqtt = r.GetProperty("mqtt");
                enrolled.Add(new SimDevice(r.GetProperty("deviceId").GetString()!, r.GetProperty("hmacSecret").GetString()!, r.GetProperty("certificatePem").GetString()!,
                    r.GetProperty("privateKeyPem").GetString()!, r.GetProperty("caCertificatePem").GetString()!, mqtt.GetProperty("host").GetString()!,
                    mqtt.GetProperty("port").GetInt32(), mqtt.GetProperty("topic").GetString()!));
            }
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"Cannot reach the app at {url}: {e.Message}");
            return 3;
        }

        // One set of counters per (transport, group) row; device i on MQTT when the transport is mqtt, or both and i is even.
        var transports = transport == "both" ? new[] { "mqtt", "http" } : [transport];
        var rows = transports.SelectMany(t => Groups.Select(g => (Transport: t, Group: g))).ToDictionary(r => r, _ => new Counters());
        string TransportOf(int i) => transport == "both" ? (i % 2 == 0 ? "mqtt" : "http") : transport;
        var started = DateTimeOffset.UtcNow;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(TimeSpan.FromSeconds(duration));
        var senders = enrolled.Select((d, i) => TransportOf(i) == "mqtt"
            ? SendMqttAsync(d, i, rate, rows[("mqtt", Group(i))], stop.Token)
            : SendHttpAsync(http, d, i, rate, rows[("http", Group(i))], stop.Token)).ToList();
        Line(console, $"Sending {rate} reading(s)/s from each of {devices} devices over {(transport == "both" ? "mqtt (even devices) and http (odd devices)" : transport)} for {duration} s.");
        var all = Task.WhenAll(senders);
        var total = new Counters();
        void Sum()
        {
            total.Sent = rows.Values.Sum(c => Interlocked.Read(ref c.Sent));
            total.Acknowledged = rows.Values.Sum(c => Interlocked.Read(ref c.Acknowledged));
            total.Refused = rows.Values.Sum(c => Interlocked.Read(ref c.Refused));
            total.Failed = rows.Values.Sum(c => Interlocked.Read(ref c.Failed));
        }

        if (console.Profile.Capabilities.Interactive)
        {
            await console.Live(Table(rows, total, enrolled.Count, TransportOf, 0)).AutoClear(false).StartAsync(async context =>
            {
                while (!all.IsCompleted)
                {
                    await Task.WhenAny(all, Task.Delay(500, CancellationToken.None));
                    Sum();
                    context.UpdateTarget(Table(rows, total, enrolled.Count, TransportOf, (DateTimeOffset.UtcNow - started).TotalSeconds));
                }
            });
        }
        else
        {
            Line(console, "  second      sent  acknowledged   refused    failed");
            var second = 0;
            while (!all.IsCompleted)
            {
                await Task.WhenAny(all, Task.Delay(1000, CancellationToken.None));
                second++;
                Sum();
                Line(console, $"  {second,6} {total.Sent,9:N0} {total.Acknowledged,13:N0} {total.Refused,9:N0} {total.Failed,9:N0}");
            }
        }

        Sum();
        var elapsed = (DateTimeOffset.UtcNow - started).TotalSeconds;
        Line(console, "");
        Line(console, $"Summary: {total.Sent:N0} sent, {total.Acknowledged:N0} acknowledged ({total.Acknowledged / elapsed:N0}/s), {total.Refused:N0} refused, {total.Failed:N0} failed, in {elapsed:N1} s over {transport}.");
        return total.Acknowledged == total.Sent ? 0 : 1;
    }

    /// <summary>The live table: a row per transport and device group, and the total.</summary>
    private static Table Table(Dictionary<(string Transport, string Group), Counters> rows, Counters total, int devices, Func<int, string> transportOf, double seconds)
    {
        var table = new Table().Title($"simulate: {seconds:0} s").AddColumns("transport", "devices", "group", "sent", "acknowledged", "refused", "failed");
        foreach (var column in table.Columns.Skip(3))
        {
            column.RightAligned();
        }

        foreach (var ((transport, group), c) in rows)
        {
            var count = Enumerable.Range(0, devices).Count(i => transportOf(i) == transport && Group(i) == group);
            if (count == 0)
            {
                continue;
            }

            table.AddRow(transport, count.ToString(CultureInfo.InvariantCulture), group, Number(Interlocked.Read(ref c.Sent)), Number(Interlocked.Read(ref c.Acknowledged)),
                Number(Interlocked.Read(ref c.Refused)), Number(Interlocked.Read(ref c.Failed)));
        }

        table.AddRow("[bold]all[/]", devices.ToString(CultureInfo.InvariantCulture), "", Number(total.Sent), Number(total.Acknowledged), Number(total.Refused), Number(total.Failed));
        return table;
    }

    /// <summary>A plain line on the console's own writer: not wrapped at the console's width, as a log line.</summary>
    private static void Line(IAnsiConsole console, string text) => console.Profile.Out.Writer.WriteLine(text);

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A realistic temperature: daily cycle, noise, slow drift; device 7, 17, ... sticks, 11, 21, ... spikes now and then.</summary>
    private static double Temperature(int device, DateTimeOffset at, Random random, ref double last)
    {
        var hour = at.UtcDateTime.TimeOfDay.TotalHours;
        var value = 18 + device % 5 + 4 * Math.Sin((hour - 9) / 24 * 2 * Math.PI) + random.NextDouble() * 0.4 - 0.2 + (at - DateTimeOffset.UnixEpoch).TotalDays % 30 * 0.01;
        if (device % 10 == 7 && random.NextDouble() < 0.2)
        {
            return last; // stuck
        }

        if (device % 10 == 1 && random.NextDouble() < 0.01)
        {
            value += 40; // spike
        }

        last = Math.Round(value, 2);
        return last;
    }

    private static string Body(SimDevice device, int index, DateTimeOffset at, Random random, ref double last) =>
        JsonSerializer.Serialize(new { sensorId = device.Id, recordedAt = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), value = Temperature(index, at, random, ref last) });

    private static async Task SendHttpAsync(HttpClient http, SimDevice device, int index, double rate, Counters counters, CancellationToken stop)
    {
        var random = new Random(index);
        var last = 20.0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var body = Body(device, index, DateTimeOffset.UtcNow, random, ref last);
                var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/readings")
                {
                    Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
                };
                request.Headers.Add(SignedRequests.DeviceIdHeader, device.Id);
                request.Headers.Add(SignedRequests.TimestampHeader, ts.ToString(CultureInfo.InvariantCulture));
                request.Headers.Add(SignedRequests.SignatureHeader, SignedRequests.Sign(device.Secret, ts, Encoding.UTF8.GetBytes(body)));
                Interlocked.Increment(ref counters.Sent);
                try
                {
                    using var response = await http.SendAsync(request, CancellationToken.None);
                    if (response.StatusCode == System.Net.HttpStatusCode.Accepted)
                    {
                        Interlocked.Increment(ref counters.Acknowledged);
                    }
                    else if ((int)response.StatusCode < 500)
                    {
                        Interlocked.Increment(ref counters.Refused);
                    }
                    else
                    {
                        Interlocked.Increment(ref counters.Failed);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref counters.Failed);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task SendMqttAsync(SimDevice device, int index, double rate, Counters counters, CancellationToken stop)
    {
        var random = new Random(index);
        var last = 20.0;
        using var ephemeral = X509Certificate2.CreateFromPem(device.CertificatePem, device.PrivateKeyPem);
        using var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        using var ca = X509Certificate2.CreateFromPem(device.CaPem);
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(device.MqttHost, device.MqttPort)
            .WithClientId(device.Id)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost(device.MqttHost).WithClientCertificates([certificate])
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
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var body = Body(device, index, DateTimeOffset.UtcNow, random, ref last);
                Interlocked.Increment(ref counters.Sent);
                try
                {
                    if (!client.IsConnected)
                    {
                        await client.ConnectAsync(options, CancellationToken.None);
                    }

                    var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(device.Topic).WithPayload(Encoding.UTF8.GetBytes(body))
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), CancellationToken.None);
                    // "No matching subscribers" is a success code, but nothing took the message (e.g.
                    // Mosquitto after a restart, before the bridge resubscribed): not acknowledged.
                    if (result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
                    {
                        Interlocked.Increment(ref counters.Acknowledged);
                    }
                    else if (result.IsSuccess)
                    {
                        Interlocked.Increment(ref counters.Failed);
                    }
                    else
                    {
                        Interlocked.Increment(ref counters.Refused);
                    }
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException)
                {
                    Interlocked.Increment(ref counters.Failed);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        if (client.IsConnected)
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }
    }

    /// <summary>A device's startup event (fleet provisioning), signed with the shared provisioning secret.</summary>
    private static HttpRequestMessage StartupRequest(string secret, string body)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/devices/startup")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(SignedRequests.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(SignedRequests.SignatureHeader, SignedRequests.Sign(secret, timestamp, Encoding.UTF8.GetBytes(body)));
        return request;
    }
}
