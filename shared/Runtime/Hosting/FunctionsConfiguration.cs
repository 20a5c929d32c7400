using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>Builds configuration the way the Functions host does.</summary>
public static class FunctionsConfiguration
{
    /// <summary>
    /// Puts host.json (keys under <c>AzureFunctionsJobHost</c>) and, when given and present,
    /// local.settings.json <c>Values</c> beneath every source already added, so environment
    /// variables and the command line override them, as in Azure Functions.
    /// </summary>
    public static IConfigurationBuilder AddFunctionsFiles(this IConfigurationBuilder builder, string hostJsonPath, string? localSettingsPath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (localSettingsPath is not null && File.Exists(localSettingsPath))
        {
            builder.Sources.Insert(0, new MemoryConfigurationSource { InitialData = ReadLocalSettings(localSettingsPath) });
        }

        if (File.Exists(hostJsonPath))
        {
            builder.Sources.Insert(0, new MemoryConfigurationSource { InitialData = ReadHostJson(hostJsonPath) });
        }

        return builder;
    }

    /// <summary>host.json flattened into configuration keys under <c>AzureFunctionsJobHost</c>.</summary>
    public static Dictionary<string, string?> ReadHostJson(string path)
    {
        var flat = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        using (var stream = File.OpenRead(path))
        {
            using var document = JsonDocument.Parse(stream, JsonOptions);
            Flatten(document.RootElement, FunctionsHostOptions.SectionName, flat);
        }

        return flat;
    }

    /// <summary>
    /// A local.settings.json as Core Tools reads it: its <c>Values</c> (<c>__</c> in a name means a
    /// section) and its <c>Host</c> section under <c>Host:</c> (<c>Host:LocalHttpPort</c>, ...). An
    /// encrypted file (<c>"IsEncrypted": true</c>) is refused: only Core Tools can decrypt it.
    /// </summary>
    public static Dictionary<string, string?> ReadLocalSettings(string path)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        using (var stream = File.OpenRead(path))
        {
            using var document = JsonDocument.Parse(stream, JsonOptions);
            if (document.RootElement.TryGetProperty("IsEncrypted", out var encrypted) && encrypted.ValueKind == JsonValueKind.True)
            {
                throw new InvalidOperationException($"{path} is encrypted (\"IsEncrypted\": true); decrypt it with 'func settings decrypt' or write the values in plain text.");
            }

            if (document.RootElement.TryGetProperty("Host", out var host) && host.ValueKind == JsonValueKind.Object)
            {
                Flatten(host, "Host", values);
            }

            if (document.RootElement.TryGetProperty("Values", out var section) && section.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in section.EnumerateObject())
                {
                    values[property.Name.Replace("__", ":", StringComparison.Ordinal)] =
                        property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
                }
            }
        }

        return values;
    }

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static void Flatten(JsonElement element, string prefix, Dictionary<string, string?> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix + ":" + property.Name, into);
                }
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, prefix + ":" + index++, into);
                }
                break;
            case JsonValueKind.String:
                into[prefix] = element.GetString();
                break;
            case JsonValueKind.Null:
                into[prefix] = null;
                break;
            default:
                into[prefix] = element.GetRawText();
                break;
        }
    }
}
