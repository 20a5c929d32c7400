using System.Reflection;
using System.Security.Cryptography;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// The dashboard's files, embedded in this assembly under <c>console/</c> (the pages from
/// Console/Assets and uPlot's dist files, copied in by the build): read once, each with a strong
/// ETag from its SHA-256, so a browser revalidates them for a 304.
/// </summary>
public sealed class ConsoleAssets
{
    private const string Prefix = "console/";

    private readonly Dictionary<string, ConsoleAsset> _assets = new(StringComparer.Ordinal);

    public ConsoleAssets()
        : this(typeof(ConsoleAssets).Assembly)
    {
    }

    public ConsoleAssets(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var name = resource[Prefix.Length..];
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 16)) + "\"";
            _assets[name] = new ConsoleAsset(name, bytes, ContentTypeOf(name), etag);
        }
    }

    /// <summary>The names of every embedded file.</summary>
    public IEnumerable<string> Names => _assets.Keys;

    /// <summary>The file called <paramref name="name"/> (the empty name is index.html), or null.</summary>
    public ConsoleAsset? Find(string? name) =>
        _assets.GetValueOrDefault(string.IsNullOrEmpty(name) ? "index.html" : name);

    /// <summary>The content type by extension (the only kinds the dashboard has).</summary>
    public static string ContentTypeOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "application/octet-stream",
        };
    }
}
