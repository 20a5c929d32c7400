using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Http;

namespace SensorPipeline.Functions.Devices;

/// <summary>
/// Enrolment and the registry over HTTP: <c>POST /api/devices</c> issues a device's credentials
/// once (master key), <c>GET</c> lists and shows devices (never a secret), <c>DELETE
/// …/credentials</c> revokes them (both doors close; an open MQTT session is dropped).
/// </summary>
public sealed partial class DeviceAdmin(
    DeviceStore store, IServiceProvider services, DeviceRegistry registry, MqttEndpoint mqtt, IOptions<DeviceOptions> options, ILogger<DeviceAdmin> logger)
{
    [Function("EnrolDevice")]
    public async Task<IResult> EnrolAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "devices")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        string? deviceId;
        string? displayName;
        try
        {
            using var body = await JsonBody.ReadAsync(request, cancellationToken);
            if (body is null)
            {
                return Problems.Message(StatusCodes.Status415UnsupportedMediaType, null, "Content-Type must be application/json.");
            }

            if (!JsonBody.TryStringFields(body.Memory, "{\"deviceId\":\"dev-1\"}", out var fields, out var invalid, "deviceId", "displayName"))
            {
                return invalid;
            }

            deviceId = fields.GetValueOrDefault("deviceId");
            displayName = fields.GetValueOrDefault("displayName");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.BodyTooLarge();
        }

        if (!DeviceRules.IsValidDeviceId(deviceId))
        {
            return Problems.Message(StatusCodes.Status400BadRequest, "deviceId", DeviceRules.DeviceIdRule);
        }

        if (displayName is { Length: > 200 })
        {
            return Problems.Message(StatusCodes.Status400BadRequest, "displayName", "At most 200 characters.");
        }

        if (!options.Value.DoorsEnabled)
        {
            return Problems.Message(StatusCodes.Status503ServiceUnavailable, null, "Enrolment is off on this instance: DeviceCaDirectory (the device CA's folder) is not set.");
        }

        var authority = services.GetRequiredService<DeviceAuthority>();
        if (await store.BeginEnrolmentAsync(deviceId!, displayName, cancellationToken) is not { } device)
        {
            return Problems.Message(StatusCodes.Status409Conflict, "deviceId",
                $"Device {deviceId} already has active credentials: revoke them first (DELETE /api/devices/{deviceId}/credentials) to issue new ones.");
        }

        var issued = authority.Issue(device.DeviceId, device.CredentialGeneration, options.Value.DeviceCertificateLifetime);
        device = await store.ActivateAsync(device.DeviceId, device.CredentialGeneration, issued.Serial, issued.Thumbprint, issued.NotAfter, onlyIfNeverIssued: false, cancellationToken);
        if (device is null)
        {
            // A concurrent enrolment moved the generation on: this one's credentials are void.
            return Problems.Message(StatusCodes.Status409Conflict, "deviceId", $"Device {deviceId} was enrolled concurrently; revoke and enrol again.");
        }

        registry.Invalidate(device.DeviceId);
        LogEnrolled(logger, device.DeviceId, device.CredentialGeneration, issued.Serial);
        return Results.Json(CredentialsBody(device.DeviceId, issued, authority, mqtt), statusCode: StatusCodes.Status201Created);
    }

    /// <summary>The body that hands a device its credentials, once (enrolment and fleet provisioning).</summary>
    internal static object CredentialsBody(string deviceId, IssuedCredentials issued, DeviceAuthority authority, MqttEndpoint mqtt) => new
    {
        deviceId,
        certificatePem = issued.CertificatePem,
        privateKeyPem = issued.PrivateKeyPem,
        caCertificatePem = authority.CaCertificatePem,
        hmacSecret = issued.HmacSecret,
        certificateNotAfter = issued.NotAfter,
        mqtt = new { host = mqtt.Host, port = mqtt.Port, topic = DeviceRules.ReadingsTopic(deviceId) },
    };

    [Function("ListDevices")]
    public async Task<IResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "get", Route = "devices")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var devices = await store.ListAsync(10_000, cancellationToken);
        return Results.Json(new { devices = devices.Select(d => View(d, null)) });
    }

    [Function("GetDevice")]
    public async Task<IResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "get", Route = "devices/{deviceId}")] HttpRequest request,
        string deviceId,
        CancellationToken cancellationToken)
    {
        if (!DeviceRules.IsValidDeviceId(deviceId))
        {
            return Problems.Message(StatusCodes.Status400BadRequest, "deviceId", DeviceRules.DeviceIdRule);
        }

        return await store.GetAsync(deviceId, cancellationToken) is { } device
            ? Results.Json(View(device, await store.SensorsAsync(deviceId, cancellationToken)))
            : Problems.Message(StatusCodes.Status404NotFound, "deviceId", $"No device {deviceId}.");
    }

    [Function("RevokeDeviceCredentials")]
    public async Task<IResult> RevokeAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "devices/{deviceId}/credentials")] HttpRequest request,
        string deviceId,
        CancellationToken cancellationToken)
    {
        if (!DeviceRules.IsValidDeviceId(deviceId))
        {
            return Problems.Message(StatusCodes.Status400BadRequest, "deviceId", DeviceRules.DeviceIdRule);
        }

        if (await store.RevokeAsync(deviceId, cancellationToken) is not { } device)
        {
            return Problems.Message(StatusCodes.Status404NotFound, "deviceId", $"No device {deviceId}.");
        }

        registry.Invalidate(deviceId);
        var dropped = await mqtt.DisconnectAsync(deviceId);
        LogRevoked(logger, deviceId, dropped);
        return Results.Json(View(device, null));
    }

    private static object View(Device d, IReadOnlyList<DeviceSensor>? sensors) => new
    {
        deviceId = d.DeviceId,
        hardwareId = d.HardwareId,
        displayName = d.DisplayName,
        firmware = d.Firmware,
        lastBootAt = d.LastBootAt,
        createdAt = d.CreatedAt,
        lastSeenAt = d.LastSeenAt,
        credentialState = d.CredentialState,
        certificateSerial = d.CertificateSerial,
        certificateNotAfter = d.CertificateNotAfter,
        revokedAt = d.RevokedAt,
        topic = DeviceRules.ReadingsTopic(d.DeviceId),
        sensors = sensors?.Select(s => new { sensorId = s.SensorId, firstSeenAt = s.FirstSeenAt, lastSeenAt = s.LastSeenAt }),
    };

    [LoggerMessage(EventId = 617, Level = LogLevel.Information, Message = "Enrolled device {DeviceId} (credential generation {Generation}, certificate serial {Serial})")]
    private static partial void LogEnrolled(ILogger logger, string deviceId, int generation, string serial);

    [LoggerMessage(EventId = 618, Level = LogLevel.Information, Message = "Revoked the credentials of device {DeviceId}; open MQTT session dropped: {Dropped}")]
    private static partial void LogRevoked(ILogger logger, string deviceId, bool dropped);
}
