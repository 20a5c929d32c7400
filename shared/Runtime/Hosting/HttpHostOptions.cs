using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Runtime.Hosting;

public sealed class HttpHostOptions
{
    /// <summary>Prefix of every HTTP function's route; Azure's default is <c>api</c>.</summary>
    public string RoutePrefix { get; set; } = "api";

    /// <summary>Largest request body accepted, in bytes (413 beyond it).</summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxRequestBodySize { get; set; } = 4 * 1024 * 1024;
}
