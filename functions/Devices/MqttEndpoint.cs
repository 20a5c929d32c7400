using Microsoft.Extensions.Options;

namespace SensorPipeline.Functions.Devices;

/// <summary>Where devices reach the MQTT door (told at enrolment), and how to drop a device's session.</summary>
public sealed class MqttEndpoint(IOptions<DeviceOptions> options)
{
    public string Host => options.Value.HasExternalBroker ? SplitHostPort(options.Value.MqttBroker!).Host : options.Value.MqttHost;

    /// <summary>The broker's TLS port: the external broker's, or the embedded broker's once it listens.</summary>
    public int Port
    {
        get => options.Value.HasExternalBroker ? SplitHostPort(options.Value.MqttBroker!).Port : options.Value.MqttOff || field == 0 ? options.Value.MqttPort : field;
        internal set;
    }

    /// <summary>Set by the embedded broker: drops a device's open session.</summary>
    internal Func<string, Task<bool>>? Disconnect { get; set; }

    /// <summary>Drops the device's open MQTT session, if the embedded broker has one; true when one was dropped.</summary>
    public Task<bool> DisconnectAsync(string deviceId) => Disconnect?.Invoke(deviceId) ?? Task.FromResult(false);

    public static (string Host, int Port) SplitHostPort(string hostPort)
    {
        ArgumentNullException.ThrowIfNull(hostPort);
        var colon = hostPort.LastIndexOf(':');
        return colon > 0 && int.TryParse(hostPort.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? (hostPort[..colon], port)
            : (hostPort, 8883);
    }
}
