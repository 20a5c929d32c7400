using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Http;

namespace SensorPipeline.Functions.Devices;

/// <summary>
/// Fleet provisioning: <c>POST /api/devices/startup</c>, a device's startup event
/// signed with the shared <c>DeviceProvisioningSecret</c> (<c>x-timestamp</c>, <c>x-signature</c> as
/// the signed HTTP door), body <c>{"hardwareId":"aa:bb:cc:dd:ee:01","firmware":"2.4.1"}</c>. An
/// unknown device is registered (its id derived from the hardware id: lower case, ':' → '-'), its
/// firmware and boot time recorded, and its credentials returned once (201, as enrolment); a device
/// that has had credentials gets only its id (200): a revoked one is re-enrolled by an operator,
/// not by the fleet secret. Off (404) while the secret is unset. At most <c>DeviceStartupRateLimit</c>
/// events a minute per source address (<see cref="StartupRateLimiter"/>): past it 429 with Retry-After.
/// </summary>
public sealed partial class DeviceProvisioning(
    DeviceStore store, IServiceProvider services, DeviceRegistry registry, SignedRequests signatures, MqttEndpoint mqtt,
    StartupRateLimiter limiter, IOptions<DeviceOptions> options, ILogger<DeviceProvisioning> logger)
{
    [Function("DeviceStartup")]
    public async Task<IResult> StartupAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "devices/startup")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.ProvisioningEnabled)
        {
            return Problems.Message(StatusCodes.Status404NotFound, null, "Fleet provisioning is off on this instance: DeviceProvisioningSecret is not set.");
        }

        if (limiter.TryAcquire(request.HttpContext.Connection.RemoteIpAddress) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            LogStartupRateLimited(logger, request.HttpContext.Connection.RemoteIpAddress?.ToString(), seconds);
            request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Message(StatusCodes.Status429TooManyRequests, null,
                $"Too many startup events from this address (DeviceStartupRateLimit: {o.DeviceStartupRateLimit} a minute); retry after {seconds} s.");
        }

        if (!JsonBody.IsJson(request.ContentType))
        {
            return Problems.Message(StatusCodes.Status415UnsupportedMediaType, null, "Content-Type must be application/json.");
        }

        string? hardwareId = null;
        string? firmware = null;
        try
        {
            using var body = await JsonBody.ReadAsync(request, cancellationToken);
            if (signatures.VerifyShared(request, o.DeviceProvisioningSecret!, body!.Memory.Span) is { } problem)
            {
                LogStartupRefused(logger, problem);
                return Problems.Message(StatusCodes.Status401Unauthorized, null, problem);
            }

            if (!JsonBody.TryStringFields(body.Memory, "{\"hardwareId\":\"aa:bb:cc:dd:ee:01\",\"firmware\":\"2.4.1\"}", out var fields, out var invalid, "hardwareId", "firmware"))
            {
                return invalid;
            }

            hardwareId = fields.GetValueOrDefault("hardwareId");
            firmware = fields.GetValueOrDefault("firmware");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.BodyTooLarge();
        }

        var deviceId = DeviceRules.DeviceIdOfHardwareId(hardwareId);
        if (deviceId is null)
        {
            return Problems.Message(StatusCodes.Status400BadRequest, "hardwareId", DeviceRules.HardwareIdRule);
        }

        if (firmware is { Length: > 64 })
        {
            return Problems.Message(StatusCodes.Status400BadRequest, "firmware", "At most 64 characters.");
        }

        if (!o.DoorsEnabled)
        {
            return Problems.Message(StatusCodes.Status503ServiceUnavailable, null, "Provisioning needs the device CA: DeviceCaDirectory is not set.");
        }

        var authority = services.GetRequiredService<DeviceAuthority>();
        if (await store.RecordStartupAsync(deviceId, hardwareId!, firmware, cancellationToken) is not { } device)
        {
            return Problems.Message(StatusCodes.Status409Conflict, "hardwareId", $"Hardware id {hardwareId} is already registered to another device.");
        }

        if (device.CredentialState == Device.None)
        {
            var issued = authority.Issue(device.DeviceId, device.CredentialGeneration, o.DeviceCertificateLifetime);
            if (await store.ActivateAsync(device.DeviceId, device.CredentialGeneration, issued.Serial, issued.Thumbprint, issued.NotAfter, onlyIfNeverIssued: true, cancellationToken) is not null)
            {
                registry.Invalidate(device.DeviceId);
                LogProvisioned(logger, device.DeviceId, device.CredentialGeneration, issued.Serial, firmware);
                return Results.Json(DeviceAdmin.CredentialsBody(device.DeviceId, issued, authority, mqtt), statusCode: StatusCodes.Status201Created);
            }

            // A concurrent startup of the same device issued its credentials first: those stand.
            device = await store.GetAsync(device.DeviceId, cancellationToken) ?? device;
        }

        LogStartup(logger, device.DeviceId, device.CredentialState, firmware);
        return Results.Json(new { deviceId = device.DeviceId, credentialState = device.CredentialState });
    }

    [LoggerMessage(EventId = 619, Level = LogLevel.Information, Message = "Provisioned device {DeviceId} at its startup (credential generation {Generation}, certificate serial {Serial}, firmware {Firmware})")]
    private static partial void LogProvisioned(ILogger logger, string deviceId, int generation, string serial, string? firmware);

    [LoggerMessage(EventId = 620, Level = LogLevel.Debug, Message = "Startup of device {DeviceId} (credentials {CredentialState}, firmware {Firmware})")]
    private static partial void LogStartup(ILogger logger, string deviceId, string credentialState, string? firmware);

    [LoggerMessage(EventId = 621, Level = LogLevel.Warning, Message = "Refused a device startup event: {Problem}")]
    private static partial void LogStartupRefused(ILogger logger, string problem);

    [LoggerMessage(EventId = 622, Level = LogLevel.Warning, Message = "Rate-limited device startup events from {Source}: retry after {Seconds} s (DeviceStartupRateLimit)")]
    private static partial void LogStartupRateLimited(ILogger logger, string? source, int seconds);
}
