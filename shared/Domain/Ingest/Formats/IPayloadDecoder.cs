namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>
/// One payload format: pure (no I/O), all or nothing like the native parser (any problem yields no
/// readings). Its <see cref="Name"/> and <see cref="Version"/> are recorded in the payload ledger,
/// so a payload can be decoded again after a decoder is fixed (raise the version with the fix).
/// </summary>
public interface IPayloadDecoder
{
    /// <summary><c>native</c>, <c>legacy</c> or <c>frame</c>.</summary>
    string Name { get; }

    int Version { get; }

    DecodedPayload Decode(ReadOnlyMemory<byte> payload, DecodeContext context);
}
