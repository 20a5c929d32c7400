using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;

namespace SensorPipeline.Tests.Devices;

/// <summary>Fleet provisioning: startup events signed with DeviceProvisioningSecret, on the whole app with keys required.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ProvisioningTests(TestServers servers) : IAsyncLifetime
{
    private const string FleetSecret = "fleet-secret-0123456789abcdef";
    private readonly TestLogs _logs = new();
    private PipelineApp _app = null!;
    private Dictionary<string, string?> _settings = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("provisioning"));
        RequireKeys(settings);
        settings["DeviceProvisioningSecret"] = FleetSecret;
        _settings = settings;
        _app = await PipelineApp.StartAsync(settings, _logs);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _logs.Dispose();
    }

    private static string Startup(string hardwareId, string? firmware) => JsonSerializer.Serialize(new { hardwareId, firmware });

    [Fact]
    public async Task Unknown_device_is_registered_with_firmware_and_boot_time_and_gets_credentials_once_that_sign_readings()
    {
        var first = await PostStartupAsync(_app, FleetSecret, Startup("AA:BB:CC:DD:EE:01", "2.4.1"));
        var text = await first.Content.ReadAsStringAsync();
        Assert.True(first.StatusCode == HttpStatusCode.Created, text);
        using (var json = JsonDocument.Parse(text))
        {
            Assert.Equal("aa-bb-cc-dd-ee-01", json.RootElement.GetProperty("deviceId").GetString());
            Assert.Contains("BEGIN CERTIFICATE", json.RootElement.GetProperty("certificatePem").GetString(), StringComparison.Ordinal);
            Assert.Equal("devices/aa-bb-cc-dd-ee-01/readings", json.RootElement.GetProperty("mqtt").GetProperty("topic").GetString());
            var secret = json.RootElement.GetProperty("hmacSecret").GetString()!;

            // The credentials work at the signed door.
            var reading = await PostSignedAsync(_app, "aa-bb-cc-dd-ee-01", secret, Reading("aa-bb-cc-dd-ee-01", DateTimeOffset.UtcNow.AddMinutes(-1), 21));
            Assert.True(reading.StatusCode == HttpStatusCode.Accepted, await reading.Content.ReadAsStringAsync());
            Assert.Equal(0, await _app.ScalarAsync($"select count(*) from device d where d::text like '%{secret}%' or d::text like '%PRIVATE%'"));
        }

        Assert.Equal(1, await _app.ScalarAsync("select count(*) from device where device_id = 'aa-bb-cc-dd-ee-01' and hardware_id = 'AA:BB:CC:DD:EE:01' and firmware = '2.4.1' and last_boot_at > now() - interval '1 minute' and credential_state = 'active'"));
        var firstBoot = await _app.ScalarAsync("select (extract(epoch from last_boot_at) * 1000000)::bigint from device where device_id = 'aa-bb-cc-dd-ee-01'");

        // A second startup (new firmware, another boot): only the id, no second copy of the credentials.
        var second = await PostStartupAsync(_app, FleetSecret, Startup("aa:bb:cc:dd:ee:01", "2.5.0"));
        var secondText = await second.Content.ReadAsStringAsync();
        Assert.True(second.StatusCode == HttpStatusCode.OK, secondText);
        Assert.Equal("{\"deviceId\":\"aa-bb-cc-dd-ee-01\",\"credentialState\":\"active\"}", secondText);
        Assert.Equal(1, await _app.ScalarAsync($"select count(*) from device where device_id = 'aa-bb-cc-dd-ee-01' and firmware = '2.5.0' and (extract(epoch from last_boot_at) * 1000000)::bigint > {firstBoot}"));

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/devices/aa-bb-cc-dd-ee-01");
        get.Headers.Add("x-functions-key", MasterKey);
        var shown = await (await _app.Http.SendAsync(get)).Content.ReadAsStringAsync();
        Assert.Contains("\"firmware\":\"2.5.0\"", shown, StringComparison.Ordinal);
        Assert.Contains("\"lastBootAt\":\"", shown, StringComparison.Ordinal);

        // The fleet secret is never logged.
        Assert.DoesNotContain(_logs.Lines, l => l.Message.Contains(FleetSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_stale_or_device_signed_startups_are_refused_and_register_nothing()
    {
        var body = Startup("aa:bb:cc:dd:ee:02", "2.4.1");
        var wrong = await PostStartupAsync(_app, "another-secret-0123456789", body);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("application/problem+json", wrong.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Bad signature", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var stale = await PostStartupAsync(_app, FleetSecret, body, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 301);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Contains("Stale signature", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Signed for another body (the signature covers the body).
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var forOther = await PostStartupAsync(_app, FleetSecret, body, ts, SignedRequests.Sign(FleetSecret, ts, Encoding.UTF8.GetBytes(Startup("aa:bb:cc:dd:ee:03", "2.4.1"))));
        Assert.Equal(HttpStatusCode.Unauthorized, forOther.StatusCode);

        using var unsigned = new HttpRequestMessage(HttpMethod.Post, "/api/devices/startup") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Http.SendAsync(unsigned)).StatusCode);

        Assert.Equal(0, await _app.ScalarAsync("select count(*) from device"  + " where hardware_id like 'aa:bb:cc:dd:ee:0%' and device_id <> 'aa-bb-cc-dd-ee-01'"));

        var badId = await PostStartupAsync(_app, FleetSecret, Startup("aa bb/cc", "2.4.1"));
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        Assert.Contains("hardwareId", await badId.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_startups_of_a_new_device_issue_credentials_exactly_once_and_a_revoked_device_is_not_reissued()
    {
        var body = Startup("aa:bb:cc:dd:ee:10", "1.0.0");
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostStartupAsync(_app, FleetSecret, body)));
        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));

        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(_app, "aa-bb-cc-dd-ee-10")).StatusCode);
        var after = await PostStartupAsync(_app, FleetSecret, body);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("{\"deviceId\":\"aa-bb-cc-dd-ee-10\",\"credentialState\":\"revoked\"}", await after.Content.ReadAsStringAsync());
        Assert.Equal(1, await _app.ScalarAsync("select count(*) from device where device_id = 'aa-bb-cc-dd-ee-10' and credential_state = 'revoked'"));
    }

    [Fact]
    public async Task Startup_events_past_the_per_address_limit_are_429_with_Retry_After_before_any_signature_or_database_work()
    {
        // Two a minute: one token back every 30 s, so the third event in a row is refused.
        var settings = new Dictionary<string, string?>(_settings) { ["DeviceStartupRateLimit"] = "2" };
        await using var app = await PipelineApp.StartAsync(settings);
        var devicesBefore = await app.ScalarAsync("select count(*) from device");
        // Events with a wrong signature count too: the limit comes first.
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostStartupAsync(app, "not-the-fleet-secret-0000", Startup("AA:BB:CC:00:00:01", "1.0"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PostStartupAsync(app, FleetSecret, Startup("AA:BB:CC:00:00:02", "1.0"))).StatusCode);
        var limited = await PostStartupAsync(app, FleetSecret, Startup("AA:BB:CC:00:00:03", "1.0"));
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 30);
        Assert.Contains("DeviceStartupRateLimit", await limited.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The refused device was not registered; the one before it was.
        Assert.Equal(devicesBefore + 1, await app.ScalarAsync("select count(*) from device"));
        Assert.Equal(0, await app.ScalarAsync("select count(*) from device where lower(hardware_id) = 'aa:bb:cc:00:00:03'"));

        // The limit is this app's: the other app (limit 60) still takes the event.
        Assert.Equal(HttpStatusCode.Created, (await PostStartupAsync(_app, FleetSecret, Startup("AA:BB:CC:00:00:03", "1.0"))).StatusCode);
    }

    internal static async Task<HttpResponseMessage> PostStartupAsync(PipelineApp app, string secret, string body, long? timestamp = null, string? signature = null)
    {
        var ts = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/devices/startup")
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("x-timestamp", ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("x-signature", signature ?? SignedRequests.Sign(secret, ts, Encoding.UTF8.GetBytes(body)));
        return await app.Http.SendAsync(request);
    }
}
