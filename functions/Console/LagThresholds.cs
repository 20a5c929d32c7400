using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// Each Kafka-triggered function's lag threshold: the messages of lag one instance is expected to
/// handle, as KEDA scales on it — the trigger attribute's <see cref="KafkaTriggerAttribute.LagThreshold"/>
/// (which a test keeps equal to the keda manifests' <c>lagThreshold</c>), or the setting
/// <c>LagThreshold__&lt;function&gt;</c> where a deployment patched its ScaledObject.
/// </summary>
public sealed class LagThresholds(FunctionCatalog catalog, IConfiguration configuration)
{
    /// <summary>The threshold of <paramref name="function"/>; null when it is not Kafka-triggered.</summary>
    public long? Of(string function)
    {
        if (long.TryParse(configuration[$"LagThreshold:{function}"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var overridden) && overridden > 0)
        {
            return overridden;
        }

        return catalog.All.FirstOrDefault(f => string.Equals(f.Name, function, StringComparison.Ordinal))?.Trigger is KafkaTriggerAttribute trigger
            ? trigger.LagThreshold
            : null;
    }

    /// <summary>Every <c>LagThreshold__&lt;function&gt;</c> setting must be a positive whole number: the start fails naming the one that is not.</summary>
    public static void Validate(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        foreach (var setting in configuration.GetSection("LagThreshold").GetChildren())
        {
            if (!long.TryParse(setting.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                throw new InvalidOperationException($"LagThreshold__{setting.Key} must be a positive whole number of messages (is '{setting.Value}').");
            }
        }
    }
}
