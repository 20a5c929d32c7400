using SensorPipeline.Domain.Devices;

namespace SensorPipeline.Tests.Unit;

public sealed class DeviceRulesTests
{
    [Theory]
    [InlineData("dev-1", "dev-1", true)]
    [InlineData("dev-1", "dev-1:probe", true)]
    [InlineData("dev-1", "dev-1:", false)]
    [InlineData("dev-1", "dev-10", false)]
    [InlineData("dev-1", "dev-2", false)]
    [InlineData("dev-1", "xdev-1", false)]
    [InlineData("dev-1", "dev-", false)]
    public void A_device_writes_only_its_own_sensors(string device, string sensor, bool allowed) =>
        Assert.Equal(allowed, DeviceRules.MayWrite(device, sensor));

    [Theory]
    [InlineData("dev-1", true)]
    [InlineData("aa.bb_cc-01", true)]
    [InlineData("dev:1", false)]
    [InlineData("dev/1", false)]
    [InlineData("+", false)]
    [InlineData("", false)]
    [InlineData("sensorpipeline-bridge", false)]
    [InlineData("SensorPipeline-Bridge-x", false)]
    [InlineData("my-sensorpipeline-bridge", true)]
    public void Device_ids_are_safe_as_topic_levels_and_sensor_prefixes_and_never_the_bridges_identity(string id, bool valid) =>
        Assert.Equal(valid, DeviceRules.IsValidDeviceId(id));

    [Theory]
    [InlineData("devices/dev-1/readings", "dev-1")]
    [InlineData("devices//readings", null)]
    [InlineData("other/dev-1/readings", null)]
    [InlineData("devices/dev-1", null)]
    public void The_device_of_a_topic(string topic, string? device) => Assert.Equal(device, DeviceRules.DeviceOfTopic(topic));

    [Fact]
    public void A_hardware_id_that_would_be_the_bridges_identity_makes_no_device_id() =>
        Assert.Null(DeviceRules.DeviceIdOfHardwareId("SENSORPIPELINE-BRIDGE"));
}
