using System.Security.Cryptography;

namespace SensorPipeline.Domain.Messages;

/// <summary>How much of a payload the ledger keeps, and its hash.</summary>
public static class PayloadContent
{
    /// <summary>
    /// The ledger keeps the first 4 KiB of a payload (whole for typical payloads: a legacy reading
    /// is ~40 bytes, a frame ~100); <c>size_bytes</c> and <c>sha256</c> are always of the whole.
    /// A payload stored whole can be replayed; a capped one cannot.
    /// </summary>
    public const int MaxStoredBytes = 4096;

    public static byte[] Capped(ReadOnlySpan<byte> payload) =>
        payload.Length <= MaxStoredBytes ? payload.ToArray() : payload[..MaxStoredBytes].ToArray();

    public static string Sha256Hex(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));
}
