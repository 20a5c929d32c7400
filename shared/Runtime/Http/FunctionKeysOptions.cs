namespace SensorPipeline.Runtime.Http;

/// <summary>
/// HTTP keys, from configuration <c>Keys:Master</c> and <c>Keys:Function:&lt;name&gt;</c> (environment
/// <c>Keys__Master</c>, <c>Keys__Function__ingest</c>, ...), so a Kubernetes Secret can supply them.
/// </summary>
public sealed class FunctionKeysOptions
{
    public const string SectionName = "Keys";

    public string? Master { get; set; }

    public Dictionary<string, string> Function { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Set for local development only: endpoints then need no key.</summary>
    public bool AllowAnonymous { get; set; }
}
