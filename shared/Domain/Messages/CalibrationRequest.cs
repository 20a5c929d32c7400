using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

/// <summary>
/// A stored raw reading to calibrate, on the realtime and historical calibration topics (key: raw
/// data id). Sent only after the raw row is committed.
/// </summary>
[JsonConverter(typeof(CalibrationRequestConverter))]
public sealed record CalibrationRequest
{
    public required long RawDataId { get; init; }
    public required string SensorId { get; init; }
    public required DateTimeOffset RecordedAt { get; init; }
    public required double RawValue { get; init; }
    /// <summary>When the pipeline accepted the reading: the start of its end-to-end latency.</summary>
    public required DateTimeOffset ReceivedAt { get; init; }
    /// <summary>The unit <see cref="RawValue"/> is in (<see cref="Ingest.ReadingUnits"/>); null = degrees Celsius.</summary>
    public string? Unit { get; init; }

    /// <summary>The request for a reading just stored under <paramref name="rawDataId"/>.</summary>
    public static CalibrationRequest For(RawReadingMessage reading, long rawDataId)
    {
        ArgumentNullException.ThrowIfNull(reading);
        return new()
        {
            RawDataId = rawDataId,
            SensorId = reading.SensorId,
            RecordedAt = reading.RecordedAt,
            RawValue = reading.Value,
            ReceivedAt = reading.ReceivedAt,
            Unit = reading.Unit,
        };
    }

    /// <summary>Its message's key on the calibration topics: the raw data id.</summary>
    public string MessageKey() => RawDataId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Its message's value on the calibration topics.</summary>
    public byte[] MessageValue() => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(this, PipelineJsonContext.Default.CalibrationRequest);
}
