using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Devices;

/// <summary>
/// The registry as the ingest doors see it, cached in the process: a device's credential state for
/// a few seconds (a revocation in this process applies at once, one in another replica within
/// <see cref="CredentialTtl"/>), and the sensors already registered (a mapping never changes once
/// made, so it is cached for good). Hits and misses are counted (<c>sensorpipeline.device_registry.lookups</c>).
/// </summary>
public sealed class DeviceRegistry(DeviceStore store, TimeProvider time)
{
    public static readonly TimeSpan CredentialTtl = TimeSpan.FromSeconds(5);

    /// <summary>How often a device's last_seen moves when it reports only known sensors.</summary>
    public static readonly TimeSpan LastSeenInterval = TimeSpan.FromSeconds(30);

    private static readonly Counter<long> Lookups = PipelineTelemetry.Meter.CreateCounter<long>(
        "sensorpipeline.device_registry.lookups", "{lookup}", "Device registry lookups on the ingest path, by result (hit or miss)");

    private readonly ConcurrentDictionary<string, (Device? Device, long Expires)> _credentials = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _knownSensors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastSeenWritten = new(StringComparer.Ordinal);

    /// <summary>The device, when its credentials are active; null otherwise.</summary>
    public async ValueTask<Device?> ActiveDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_credentials.TryGetValue(deviceId, out var cached) && cached.Expires > now)
        {
            Lookups.Add(1, new KeyValuePair<string, object?>("result", "hit"));
            return cached.Device;
        }

        Lookups.Add(1, new KeyValuePair<string, object?>("result", "miss"));
        var device = await store.GetAsync(deviceId, cancellationToken);
        var active = device is { CredentialState: Device.Active } ? device : null;
        _credentials[deviceId] = (active, now + (long)(CredentialTtl.TotalSeconds * time.TimestampFrequency));
        return active;
    }

    /// <summary>Forgets a device's cached credential state (after enrolment or revocation here).</summary>
    public void Invalidate(string deviceId) => _credentials.TryRemove(deviceId, out _);

    /// <summary>Registers the device's sensors not yet known and moves its last_seen (throttled).</summary>
    public Task RecordSeenAsync(string deviceId, IEnumerable<string> sensorIds, CancellationToken cancellationToken) =>
        RecordSeenAsync(deviceId, sensorIds, legacy: false, cancellationToken);

    /// <summary>As <see cref="RecordSeenAsync(string, IEnumerable{string}, CancellationToken)"/>, registering the legacy device itself first when it is new.</summary>
    public Task RecordLegacySeenAsync(string deviceId, IEnumerable<string> sensorIds, CancellationToken cancellationToken) =>
        RecordSeenAsync(deviceId, sensorIds, legacy: true, cancellationToken);

    private async Task RecordSeenAsync(string deviceId, IEnumerable<string> sensorIds, bool legacy, CancellationToken cancellationToken)
    {
        var unknown = sensorIds.Where(s => !_knownSensors.ContainsKey(s)).Distinct(StringComparer.Ordinal).ToList();
        var now = time.GetTimestamp();
        var due = !_lastSeenWritten.TryGetValue(deviceId, out var last) || time.GetElapsedTime(last, now) >= LastSeenInterval;
        Lookups.Add(1, new KeyValuePair<string, object?>("result", unknown.Count == 0 ? "hit" : "miss"));
        if (unknown.Count == 0 && !due)
        {
            return;
        }

        if (legacy && unknown.Count > 0)
        {
            await store.RecordLegacySeenAsync(deviceId, unknown, cancellationToken);
        }
        else
        {
            await store.RecordSeenAsync(deviceId, unknown, cancellationToken);
        }

        _lastSeenWritten[deviceId] = now;
        foreach (var sensor in unknown)
        {
            _knownSensors.TryAdd(sensor, 0);
        }
    }
}
