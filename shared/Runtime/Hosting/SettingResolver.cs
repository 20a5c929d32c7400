using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>Resolves <c>%Name%</c> placeholders from configuration, as Azure Functions does.</summary>
public sealed partial class SettingResolver(IConfiguration configuration)
{
    /// <summary>Replaces every <c>%Name%</c>; a missing or empty setting is an error that names it.</summary>
    public string Resolve(string value, string usedBy)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Placeholder().Replace(value, match =>
        {
            var name = match.Groups[1].Value;
            var resolved = configuration[name.Replace("__", ":", StringComparison.Ordinal)];
            if (string.IsNullOrWhiteSpace(resolved))
            {
                throw new InvalidOperationException(
                    $"Setting '{name}' (used by {usedBy}) is not configured. Set it in local.settings.json Values, an environment variable, or the command line.");
            }

            return resolved;
        });
    }

    [GeneratedRegex("%([A-Za-z0-9_:.-]+)%")]
    private static partial Regex Placeholder();
}
