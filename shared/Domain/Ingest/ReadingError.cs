using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Ingest;

/// <summary>One problem with a request: which reading (null for the whole body), which field, what.</summary>
public sealed record ReadingError(
    [property: JsonPropertyName("index")] int? Index,
    [property: JsonPropertyName("field")] string? Field,
    [property: JsonPropertyName("message")] string Message);
