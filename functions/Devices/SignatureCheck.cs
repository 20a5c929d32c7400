using SensorPipeline.Domain.Devices;

namespace SensorPipeline.Functions.Devices;

/// <summary>The outcome of checking a device's signature: the device, or why not.</summary>
public readonly record struct SignatureCheck(string? DeviceId, string? Problem)
{
    public bool IsValid => DeviceId is not null;
}
