using System.ComponentModel.DataAnnotations;
using System.Net;

namespace SensorPipeline.Functions.Devices;

/// <summary>The device doors' settings: the device CA, the MQTT broker, signed HTTP.</summary>
public sealed class DeviceOptions : IValidatableObject
{
    /// <summary>
    /// Folder of the device CA (ca.crt, ca.key, hmac.key), created on first start when empty.
    /// Unset: <c>start --data-dir D</c> uses D's sibling <c>device-ca</c>, otherwise a throwaway folder.
    /// </summary>
    [ConfigurationKeyName("DeviceCaDirectory")]
    public string? DeviceCaDirectory { get; set; }

    /// <summary>
    /// Enrolment, signed HTTP and MQTT need the device CA: without <c>DeviceCaDirectory</c> (outside
    /// Development, where <c>start</c> makes a throwaway one) they are off and say so.
    /// </summary>
    public bool DoorsEnabled => !string.IsNullOrWhiteSpace(DeviceCaDirectory);

    /// <summary><c>MqttBroker=none</c>: neither the embedded broker nor the bridge runs here.</summary>
    public bool MqttOff => string.Equals(MqttBroker, "none", StringComparison.OrdinalIgnoreCase);

    /// <summary>An external broker to bridge from (set and not <c>none</c>).</summary>
    public bool HasExternalBroker => !string.IsNullOrWhiteSpace(MqttBroker) && !MqttOff;

    /// <summary>
    /// An external MQTT broker (host:port) that this instance bridges from; unset runs the embedded
    /// one; <c>none</c>: no MQTT door in this instance (e.g. the HTTP pods on Kubernetes), enrolment
    /// then tells devices <c>MqttHost</c>:<c>MqttPort</c>.
    /// </summary>
    [ConfigurationKeyName("MqttBroker")]
    public string? MqttBroker { get; set; }

    /// <summary>TLS port of the embedded broker; 0 picks a free one.</summary>
    [ConfigurationKeyName("MqttPort")]
    [Range(0, 65535, ErrorMessage = "MqttPort must be between 0 and 65535.")]
    public int MqttPort { get; set; } = 8883;

    /// <summary>
    /// Where the embedded broker listens: <c>loopback</c> (the default: 127.0.0.1 and ::1, this
    /// machine only), <c>any</c> (every interface, IPv4 and IPv6), or one IP address (that
    /// address, and loopback on the other address family).
    /// </summary>
    [Required(ErrorMessage = "MqttListenAddress is required."), ConfigurationKeyName("MqttListenAddress")]
    public string MqttListenAddress { get; set; } = "loopback";

    /// <summary>The IPv4 and IPv6 addresses the embedded broker binds, from <see cref="MqttListenAddress"/>; null when it is not valid.</summary>
    public (IPAddress V4, IPAddress V6)? MqttListenAddresses() => MqttListenAddress.Trim().ToLowerInvariant() switch
    {
        "loopback" or "localhost" => (IPAddress.Loopback, IPAddress.IPv6Loopback),
        "any" or "*" => (IPAddress.Any, IPAddress.IPv6Any),
        var text when IPAddress.TryParse(text, out var address) => address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? (IPAddress.Loopback, address)
            : (address, IPAddress.IPv6Loopback),
        _ => null,
    };

    /// <summary>Host name devices use for the broker (in the enrolment answer and the broker's certificate).</summary>
    [Required(ErrorMessage = "MqttHost is required."), ConfigurationKeyName("MqttHost")]
    public string MqttHost { get; set; } = "localhost";

    /// <summary>Shared-subscription group of the bridge to an external broker ($share/{group}/devices/+/readings).</summary>
    [Required(ErrorMessage = "MqttBridgeGroup is required."), ConfigurationKeyName("MqttBridgeGroup")]
    public string MqttBridgeGroup { get; set; } = "sensorpipeline";

    /// <summary>How far a signed request's x-timestamp may be from now.</summary>
    [ConfigurationKeyName("DeviceSignatureMaxSkew")]
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00", ErrorMessage = "DeviceSignatureMaxSkew must be between 10 seconds and 1 hour.")]
    public TimeSpan DeviceSignatureMaxSkew { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Fleet provisioning: the shared secret that signs a device's startup event
    /// (<c>POST /api/devices/startup</c>). Unset (the default): provisioning is off.
    /// </summary>
    [ConfigurationKeyName("DeviceProvisioningSecret")]
    [MinLength(16, ErrorMessage = "DeviceProvisioningSecret must be at least 16 characters.")]
    public string? DeviceProvisioningSecret { get; set; }

    /// <summary>
    /// Startup events accepted per source address per minute (a token bucket of this many, refilled
    /// evenly over the minute, per replica); past it a 429 with Retry-After. 0: no limit.
    /// </summary>
    [ConfigurationKeyName("DeviceStartupRateLimit")]
    [Range(0, 100_000, ErrorMessage = "DeviceStartupRateLimit must be between 0 (no limit) and 100000 startup events per minute.")]
    public int DeviceStartupRateLimit { get; set; } = 60;

    /// <summary>True when fleet provisioning is on (<c>DeviceProvisioningSecret</c> set).</summary>
    public bool ProvisioningEnabled => !string.IsNullOrEmpty(DeviceProvisioningSecret);

    /// <summary>Validity of an issued device certificate.</summary>
    [ConfigurationKeyName("DeviceCertificateLifetime")]
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "DeviceCertificateLifetime must be between 1 and 3650 days.")]
    public TimeSpan DeviceCertificateLifetime { get; set; } = TimeSpan.FromDays(365);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MqttListenAddresses() is null)
        {
            yield return new ValidationResult($"MqttListenAddress must be loopback, any, or an IP address (was '{MqttListenAddress}').", [nameof(MqttListenAddress)]);
        }
    }
}
