using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

/// <summary>A reading as accepted over HTTP and carried on <c>temperature.raw</c> (key: sensor id).</summary>
[JsonConverter(typeof(RawReadingMessageConverter))]
public sealed record RawReadingMessage
{
    public required string SensorId { get; init; }
    public required DateTimeOffset RecordedAt { get; init; }
    public required double Value { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    public string? Source { get; init; }
}
