using System.ComponentModel.DataAnnotations;
using System.Net;
using SensorPipeline.Functions.Devices;

namespace SensorPipeline.Tests.Unit;

public sealed class MqttListenAddressTests
{
    [Theory]
    [InlineData("loopback", "127.0.0.1", "::1")]
    [InlineData("any", "0.0.0.0", "::")]
    [InlineData("*", "0.0.0.0", "::")]
    [InlineData("10.1.2.3", "10.1.2.3", "::1")]
    [InlineData("fd00::5", "127.0.0.1", "fd00::5")]
    public void MqttListenAddress_names_the_addresses_bound_loopback_on_the_family_not_named(string setting, string v4, string v6)
    {
        var addresses = new DeviceOptions { MqttListenAddress = setting }.MqttListenAddresses();
        Assert.Equal((IPAddress.Parse(v4), IPAddress.Parse(v6)), addresses);
    }

    [Fact]
    public void The_default_is_loopback_and_a_bad_value_fails_validation_naming_the_setting()
    {
        Assert.Equal((IPAddress.Loopback, IPAddress.IPv6Loopback), new DeviceOptions().MqttListenAddresses());
        var bad = new DeviceOptions { MqttListenAddress = "everywhere" };
        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(bad, new ValidationContext(bad), results, validateAllProperties: true));
        Assert.Contains(results, r => r.ErrorMessage!.StartsWith("MqttListenAddress must be loopback, any, or an IP address", StringComparison.Ordinal));
    }
}
