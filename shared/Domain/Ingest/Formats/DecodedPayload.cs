using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>A decoder's answer: the readings (none when there is any error), or every problem.</summary>
public sealed record DecodedPayload(IReadOnlyList<RawReadingMessage> Readings, IReadOnlyList<ReadingError> Errors)
{
    public static DecodedPayload Failed(params ReadingError[] errors) => new([], errors);
}
