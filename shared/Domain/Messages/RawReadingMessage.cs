using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

/// <summary>A reading as accepted at a door and carried on <c>temperature.raw</c> (key: sensor id).</summary>
[JsonConverter(typeof(RawReadingMessageConverter))]
public sealed record RawReadingMessage
{
    public required string SensorId { get; init; }
    public required DateTimeOffset RecordedAt { get; init; }
    public required double Value { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    public string? Source { get; init; }
    /// <summary>The unit <see cref="Value"/> is in, as sent (<see cref="Ingest.ReadingUnits"/>); null = degrees Celsius.</summary>
    public string? Unit { get; init; }
    /// <summary>
    /// The payload this reading came in, in full: on the payload's first message only (null on the
    /// others, and on messages produced before the payload ledger).
    /// </summary>
    public PayloadInfo? Payload { get; init; }

    /// <summary>The id of the payload this reading came in, on the messages that do not carry it in full.</summary>
    public Guid? PayloadId { get; init; }

    /// <summary>The payload's id, whichever way the message carries it.</summary>
    public Guid? PayloadIdOrFull => Payload?.Id ?? PayloadId;
}
