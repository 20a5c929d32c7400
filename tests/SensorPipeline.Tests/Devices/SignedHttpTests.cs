using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;

namespace SensorPipeline.Tests.Devices;

/// <summary>Enrolment, the registry and the signed HTTP door, on the whole app with keys required.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SignedHttpTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;
    private Dictionary<string, string?> _settings = null!;

    public async Task InitializeAsync()
    {
        _settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("devices"));
        RequireKeys(_settings);
        _app = await PipelineApp.StartAsync(_settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static readonly DateTimeOffset At = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Enrolment_needs_the_master_key_issues_credentials_once_and_stores_and_shows_no_secret()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostEnrolAsync(_app, "dev-1", key: null)).StatusCode);
        // The MQTT bridge's identity (Mosquitto's ACL lets it read every device) is never a device's.
        var reserved = await PostEnrolAsync(_app, "sensorpipeline-bridge");
        Assert.Equal(HttpStatusCode.BadRequest, reserved.StatusCode);
        Assert.Contains("sensorpipeline-bridge", await reserved.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostEnrolAsync(_app, "dev-1", key: FunctionKey)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostEnrolAsync(_app, "dev:1")).StatusCode);

        var device = await EnrolAsync(_app, "dev-1");
        Assert.Equal("devices/dev-1/readings", device.Topic);
        Assert.Equal(64, device.HmacSecret.Length);
        using var certificate = X509Certificate2.CreateFromPem(device.CertificatePem, device.PrivateKeyPem);
        using var ca = X509Certificate2.CreateFromPem(device.CaCertificatePem);
        Assert.Equal("dev-1", certificate.GetNameInfo(X509NameType.SimpleName, false));
        Assert.True(certificate.HasPrivateKey);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(certificate), "the device certificate chains to the returned CA");

        // Shown once: enrolling again while active is a conflict, not a second copy.
        Assert.Equal(HttpStatusCode.Conflict, (await PostEnrolAsync(_app, "dev-1")).StatusCode);

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/devices/dev-1");
        get.Headers.Add("x-functions-key", MasterKey);
        var shown = await (await _app.Http.SendAsync(get)).Content.ReadAsStringAsync();
        Assert.Contains("\"credentialState\":\"active\"", shown, StringComparison.Ordinal);
        Assert.DoesNotContain(device.HmacSecret, shown, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("hmacSecret", shown, StringComparison.Ordinal);
        Assert.Equal(0, await _app.ScalarAsync($"select count(*) from device d where d::text like '%{device.HmacSecret}%' or d::text like '%PRIVATE%'"));

        // Revoked, then enrolled again: a new secret (a new credential generation).
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(_app, "dev-1")).StatusCode);
        var again = await EnrolAsync(_app, "dev-1");
        Assert.NotEqual(device.HmacSecret, again.HmacSecret);
        Assert.Equal(HttpStatusCode.NotFound, (await RevokeAsync(_app, "nobody")).StatusCode);
    }

    [Fact]
    public async Task Fleet_provisioning_is_off_without_DeviceProvisioningSecret_and_says_so()
    {
        var body = "{\"hardwareId\":\"aa:bb:cc:dd:ee:01\",\"firmware\":\"2.4.1\"}";
        var response = await ProvisioningTests.PostStartupAsync(_app, "fleet-secret-0123456789abcdef", body);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("DeviceProvisioningSecret is not set", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from device"));
    }

    [Fact]
    public async Task Signed_reading_without_a_key_is_stored_calibrated_and_registers_the_sensor_while_unsigned_needs_a_key()
    {
        var device = await EnrolAsync(_app, "dev-2");
        var body = "[" + Reading("dev-2", At, 21.5) + "," + Reading("dev-2:probe", At, 22.5) + "]";
        var response = await PostSignedAsync(_app, "dev-2", device.HmacSecret, body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());

        // The unsigned door: no key is refused, a function key works as before.
        var unsigned = new StringContent(Reading("svc-1", At, 20), Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Http.PostAsync("/api/readings", unsigned)).StatusCode);
        var keyed = new StringContent(Reading("svc-1", At, 20), Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Accepted, (await _app.Http.PostAsync("/api/readings?code=" + FunctionKey, keyed)).StatusCode);

        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id in ('dev-2', 'dev-2:probe', 'svc-1')"), n => n == 3, TimeSpan.FromSeconds(60), "3 calibrated rows");
        Assert.Equal(2, await _app.ScalarAsync("select count(*) from device_sensor where device_id = 'dev-2'"));
        Assert.Equal(1, await _app.ScalarAsync("select count(*) from device where device_id = 'dev-2' and last_seen_at is not null"));

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/devices/dev-2");
        get.Headers.Add("x-functions-key", MasterKey);
        using var shown = JsonDocument.Parse(await (await _app.Http.SendAsync(get)).Content.ReadAsStringAsync());
        Assert.Equal(["dev-2", "dev-2:probe"], shown.RootElement.GetProperty("sensors").EnumerateArray().Select(s => s.GetProperty("sensorId").GetString()));
    }

    [Fact]
    public async Task Wrong_stale_foreign_and_revoked_signatures_are_refused_saying_which_and_a_replay_is_refused()
    {
        var device = await EnrolAsync(_app, "dev-3");
        var other = await EnrolAsync(_app, "dev-4");
        var body = Reading("dev-3", At.AddMinutes(1), 19.25);

        var wrong = await PostSignedAsync(_app, "dev-3", other.HmacSecret, body);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("Bad signature", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var stale = await PostSignedAsync(_app, "dev-3", device.HmacSecret, body, timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 301);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Contains("Stale signature", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var future = await PostSignedAsync(_app, "dev-3", device.HmacSecret, body, timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 400);
        Assert.Equal(HttpStatusCode.Unauthorized, future.StatusCode);

        // A body changed after signing.
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tampered = await PostSignedAsync(_app, "dev-3", device.HmacSecret, Reading("dev-3", At.AddMinutes(1), 99), ts,
            SensorPipeline.Functions.Devices.SignedRequests.Sign(device.HmacSecret, ts, Encoding.UTF8.GetBytes(body)));
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);

        // Another device's sensor (and a look-alike prefix): forbidden, nothing published.
        var foreign = await PostSignedAsync(_app, "dev-3", device.HmacSecret, "[" + Reading("dev-3", At, 1) + "," + Reading("dev-4", At, 2) + "," + Reading("dev-30", At, 3) + "]");
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        var foreignText = await foreign.Content.ReadAsStringAsync();
        Assert.Contains("\"errorCount\":2", foreignText, StringComparison.Ordinal);

        // Replayed within the window: refused, saying so; stored once.
        Assert.Equal(HttpStatusCode.Accepted, (await PostSignedAsync(_app, "dev-3", device.HmacSecret, body, ts)).StatusCode);
        var replayed = await PostSignedAsync(_app, "dev-3", device.HmacSecret, body, ts);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        Assert.Contains("Replayed", await replayed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'dev-3'"), n => n == 1, TimeSpan.FromSeconds(60), "dev-3 calibrated");
        Assert.Equal(1, await _app.ScalarAsync("select count(*) from raw_data where sensor_id = 'dev-3'"));
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from raw_data where sensor_id in ('dev-4', 'dev-30')"));

        // Revoked: the secret stops working at once.
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(_app, "dev-3")).StatusCode);
        var revoked = await PostSignedAsync(_app, "dev-3", device.HmacSecret, Reading("dev-3", At.AddMinutes(2), 18));
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Contains("no active credentials", await revoked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replayed_signed_request_is_refused_by_another_replica_too_a_new_signature_is_accepted_and_old_entries_are_forgotten()
    {
        var device = await EnrolAsync(_app, "dev-6");
        var body = Reading("dev-6", At.AddMinutes(5), 21.5);
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var first = await PostSignedAsync(_app, "dev-6", device.HmacSecret, body, ts);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);

        // A second replica on the same database: the ledger is shared, the repeat is refused there too.
        await using var replica = await PipelineApp.StartAsync(_settings);
        var elsewhere = await PostSignedAsync(replica, "dev-6", device.HmacSecret, body, ts);
        Assert.Equal(HttpStatusCode.Unauthorized, elsewhere.StatusCode);
        Assert.Equal("application/problem+json", elsewhere.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Replayed", await elsewhere.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The same body signed anew (another timestamp) is a new request: accepted, and stored once.
        Assert.Equal(HttpStatusCode.Accepted, (await PostSignedAsync(replica, "dev-6", device.HmacSecret, body, ts - 1)).StatusCode);
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'dev-6'"), n => n == 1, TimeSpan.FromSeconds(60), "dev-6 calibrated");
        Assert.Equal(1, await _app.ScalarAsync("select count(*) from raw_data where sensor_id = 'dev-6'"));
        Assert.Equal(2, await _app.ScalarAsync("select count(*) from signed_request_seen where device_id = 'dev-6'"));

        // Entries older than the window are deleted (a timestamp that old is refused as stale anyway).
        await _app.ExecuteAsync($"insert into signed_request_seen values ('dev-6', {ts - 4000}, '\\x00')");
        var ledger = new SensorPipeline.Domain.Storage.SignedRequestLedger(_app.Services.GetRequiredService<Npgsql.NpgsqlDataSource>());
        Assert.Equal(1, await ledger.ForgetBeforeAsync(ts - 301, CancellationToken.None));
        Assert.Equal(2, await _app.ScalarAsync("select count(*) from signed_request_seen where device_id = 'dev-6'"));
    }
}
