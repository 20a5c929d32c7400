using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Devices;

/// <summary>Credentials as enrolment returns them.</summary>
public sealed record EnrolledDevice(string DeviceId, string CertificatePem, string PrivateKeyPem, string CaCertificatePem, string HmacSecret, string MqttHost, int MqttPort, string Topic);

/// <summary>What a device and an operator do over HTTP: enrol, sign, revoke.</summary>
public static class DeviceTestClient
{
    public const string MasterKey = "test-master-key";
    public const string FunctionKey = "test-function-key";

    /// <summary>Keys required (as in production): master and one function key.</summary>
    public static void RequireKeys(IDictionary<string, string?> settings)
    {
        settings["Keys:Master"] = MasterKey;
        settings["Keys:Function:ingest"] = FunctionKey;
    }

    public static async Task<HttpResponseMessage> PostEnrolAsync(PipelineApp app, string deviceId, string? key = MasterKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/devices")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { deviceId }), Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }

        return await app.Http.SendAsync(request);
    }

    public static async Task<EnrolledDevice> EnrolAsync(PipelineApp app, string deviceId)
    {
        var response = await PostEnrolAsync(app, deviceId);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, text);
        using var json = JsonDocument.Parse(text);
        var r = json.RootElement;
        var mqtt = r.GetProperty("mqtt");
        return new EnrolledDevice(
            r.GetProperty("deviceId").GetString()!, r.GetProperty("certificatePem").GetString()!, r.GetProperty("privateKeyPem").GetString()!,
            r.GetProperty("caCertificatePem").GetString()!, r.GetProperty("hmacSecret").GetString()!,
            mqtt.GetProperty("host").GetString()!, mqtt.GetProperty("port").GetInt32(), mqtt.GetProperty("topic").GetString()!);
    }

    public static async Task<HttpResponseMessage> RevokeAsync(PipelineApp app, string deviceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/devices/{deviceId}/credentials");
        request.Headers.Add("x-functions-key", MasterKey);
        return await app.Http.SendAsync(request);
    }

    /// <summary>Posts a body signed as a device signs it (optionally with another secret or timestamp).</summary>
    public static async Task<HttpResponseMessage> PostSignedAsync(PipelineApp app, string deviceId, string secret, string body, long? timestamp = null, string? signature = null)
    {
        var ts = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/readings")
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("x-device-id", deviceId);
        request.Headers.Add("x-timestamp", ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("x-signature", signature ?? SignedRequests.Sign(secret, ts, Encoding.UTF8.GetBytes(body)));
        return await app.Http.SendAsync(request);
    }

    public static string Reading(string sensorId, DateTimeOffset at, double value) =>
        JsonSerializer.Serialize(new { sensorId, recordedAt = at.ToString("O", CultureInfo.InvariantCulture), value });
}
