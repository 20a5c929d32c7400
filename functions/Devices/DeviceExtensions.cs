using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Runtime.Http;

namespace SensorPipeline.Functions.Devices;

public static class DeviceExtensions
{
    /// <summary>
    /// The device doors: the registry, the device CA (loaded or created in <c>DeviceCaDirectory</c>),
    /// signed HTTP, and the MQTT endpoint.
    /// </summary>
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<DeviceOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<DeviceRegistry>();
        services.AddSingleton<SignedRequestLedger>();
        services.AddSingleton<StartupRateLimiter>();
        services.AddSingleton<MqttBridgeSlots>();
        // Resolved only where the device doors are on (DeviceCaDirectory set; see DeviceOptions.DoorsEnabled).
        services.AddSingleton(sp => DeviceAuthority.LoadOrCreate(
            sp.GetRequiredService<IOptions<DeviceOptions>>().Value.DeviceCaDirectory
            ?? throw new InvalidOperationException("The device doors are off: DeviceCaDirectory is not set.")));
        services.AddSingleton<SignedRequests>();
        services.AddSingleton<MqttEndpoint>();
        services.AddSingleton<SensorPipeline.Functions.Mqtt.MqttReadingsIngest>();
        // IngestReadings checks "a function key or a device signature" itself; under the official
        // host (which registers no validator of ours) the keys are the Keys__ settings too.
        services.AddOptions<FunctionKeysOptions>().BindConfiguration(FunctionKeysOptions.SectionName);
        services.TryAddSingleton(sp => new FunctionKeyValidator(sp.GetRequiredService<IOptions<FunctionKeysOptions>>().Value));
        return services;
    }
}
