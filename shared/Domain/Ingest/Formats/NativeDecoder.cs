namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>Today's reading JSON (one object or an array), degrees Celsius: <see cref="ReadingRequestParser"/>.</summary>
public sealed class NativeDecoder : IPayloadDecoder
{
    public string Name => "native";

    public int Version => 1;

    public DecodedPayload Decode(ReadOnlyMemory<byte> payload, DecodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (readings, errors) = ReadingRequestParser.Parse(payload, context.Limits, context.Now);
        return new DecodedPayload(readings, errors);
    }
}
