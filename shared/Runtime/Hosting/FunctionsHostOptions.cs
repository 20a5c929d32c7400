using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>
/// host.json, in Azure Functions' shape, bound from the <c>AzureFunctionsJobHost</c> section so
/// that environment variables such as <c>AzureFunctionsJobHost__functions__0</c> override it.
/// </summary>
public sealed class FunctionsHostOptions
{
    public const string SectionName = "AzureFunctionsJobHost";

    /// <summary>Allow-list of functions to run; empty runs all of them.</summary>
    public List<string> Functions { get; set; } = [];

    [Required]
    public HttpHostOptions Http { get; set; } = new();

    [Required]
    public ExtensionsOptions Extensions { get; set; } = new();

    /// <summary>Grace period for in-flight work at shutdown.</summary>
    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(5);
}
