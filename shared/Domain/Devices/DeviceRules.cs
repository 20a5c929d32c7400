using System.Buffers;

namespace SensorPipeline.Domain.Devices;

/// <summary>What a device id is and which sensors a device may write.</summary>
public static class DeviceRules
{
    public const string DeviceIdRule = "Is 1-64 of ASCII letters, digits, '-', '_', '.' (no ':', which separates a device's sensors), not starting with 'sensorpipeline-bridge' (the MQTT bridge's identity).";

    /// <summary>
    /// The MQTT bridge's certificate CN: Mosquitto's ACL lets it read every device's readings, so no
    /// device may be enrolled under it (or any id starting with it).
    /// </summary>
    public const string ReservedPrefix = "sensorpipeline-bridge";

    private static readonly SearchValues<char> Allowed = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>A device id: also the certificate's CN, the MQTT client id and a topic level.</summary>
    public static bool IsValidDeviceId(string? deviceId) =>
        deviceId is { Length: >= 1 and <= 64 } && !deviceId.AsSpan().ContainsAnyExcept(Allowed) &&
        !deviceId.StartsWith(ReservedPrefix, StringComparison.OrdinalIgnoreCase);

    public const string HardwareIdRule = "Is 1-64 characters that, lower-cased and with ':' as '-', make a device id: ASCII letters, digits, '-', '_', '.', ':' (e.g. aa:bb:cc:dd:ee:01), not starting with 'sensorpipeline-bridge'.";

    /// <summary>
    /// The device id of a hardware id (fleet provisioning): lower case, ':' → '-'
    /// (<c>AA:BB:CC:DD:EE:01</c> → <c>aa-bb-cc-dd-ee-01</c>); null when that is not a valid device id.
    /// </summary>
    public static string? DeviceIdOfHardwareId(string? hardwareId)
    {
        if (hardwareId is null)
        {
            return null;
        }

        var id = hardwareId.ToLowerInvariant().Replace(':', '-');
        return IsValidDeviceId(id) ? id : null;
    }

    /// <summary>A device writes the sensor named as itself, or <c>{deviceId}:…</c>.</summary>
    public static bool MayWrite(string deviceId, string sensorId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        ArgumentNullException.ThrowIfNull(sensorId);
        return sensorId.Length == deviceId.Length
            ? string.Equals(sensorId, deviceId, StringComparison.Ordinal)
            : sensorId.Length > deviceId.Length + 1 && sensorId.StartsWith(deviceId, StringComparison.Ordinal) && sensorId[deviceId.Length] == ':';
    }

    /// <summary>The MQTT topic a device publishes its readings to.</summary>
    public static string ReadingsTopic(string deviceId) => $"devices/{deviceId}/readings";

    /// <summary>The MQTT topic a device publishes its multi-channel frames to.</summary>
    public static string FramesTopic(string deviceId) => $"devices/{deviceId}/frames";

    /// <summary>The device id of a topic under <c>devices/{id}/</c>, or null.</summary>
    public static string? DeviceOfTopic(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        const string prefix = "devices/";
        if (!topic.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = topic.IndexOf('/', prefix.Length);
        return end <= prefix.Length ? null : topic[prefix.Length..end];
    }
}
