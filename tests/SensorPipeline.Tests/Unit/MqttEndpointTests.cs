using Microsoft.Extensions.Options;
using SensorPipeline.Functions.Devices;

namespace SensorPipeline.Tests.Unit;

public sealed class MqttEndpointTests
{
    [Theory]
    [InlineData(null, 0, "localhost", 8883)]            // embedded broker, port not yet chosen: the setting
    [InlineData(null, 18883, "localhost", 18883)]       // embedded broker listening
    [InlineData("mosquitto.local:8884", 18883, "mosquitto.local", 8884)] // bridged external broker
    [InlineData("none", 18883, "mqtt.example.com", 8883)]                // no door here: what devices are told
    public void Devices_are_told_where_the_broker_is(string? broker, int embeddedPort, string host, int port)
    {
        var options = new DeviceOptions { MqttBroker = broker, MqttHost = broker == "none" ? "mqtt.example.com" : "localhost" };
        var endpoint = new MqttEndpoint(Options.Create(options)) { Port = embeddedPort };

        Assert.Equal(host, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
        Assert.Equal(broker is { Length: > 0 } and not "none", options.HasExternalBroker);
    }
}
