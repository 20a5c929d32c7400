using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Devices;

/// <summary>
/// Signed HTTP: <c>x-device-id</c>, <c>x-timestamp</c> (Unix seconds, within
/// <c>DeviceSignatureMaxSkew</c>) and <c>x-signature</c> = hex HMAC-SHA256 of
/// <c>"{timestamp}\n{body}"</c> keyed with the device's secret (its UTF-8 bytes). The secret is
/// derived, never stored; the comparison is constant-time. A valid request is accepted once: a
/// repeat of its (device, x-timestamp, x-signature) within the window is refused as replayed
/// (<see cref="SignedRequestLedger"/>, shared by the replicas); a device signs each request, a
/// retry too, anew.
/// </summary>
public sealed class SignedRequests(IServiceProvider services, DeviceRegistry registry, SignedRequestLedger ledger, IOptions<DeviceOptions> options, TimeProvider time)
{
    /// <summary>Unix seconds of the last cleanup of the ledger by this process.</summary>
    private long _lastCleanup;

    public const string DeviceIdHeader = "x-device-id";
    public const string TimestampHeader = "x-timestamp";
    public const string SignatureHeader = "x-signature";

    /// <summary>True when the request carries any of the signature headers (then it must be a valid signed request).</summary>
    public static bool IsSigned(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Headers.ContainsKey(DeviceIdHeader) || request.Headers.ContainsKey(SignatureHeader) || request.Headers.ContainsKey(TimestampHeader);
    }

    /// <summary>The signature (hex) of a body at a timestamp with a secret: what a device sends.</summary>
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Convert.ToHexStringLower(Mac(Encoding.UTF8.GetBytes(secret), timestamp, body));
    }

    public async ValueTask<SignatureCheck> VerifyAsync(HttpRequest request, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? deviceId = request.Headers[DeviceIdHeader];
        string? timestampText = request.Headers[TimestampHeader];
        string? signatureText = request.Headers[SignatureHeader];
        if (string.IsNullOrEmpty(deviceId) || string.IsNullOrEmpty(timestampText) || string.IsNullOrEmpty(signatureText))
        {
            return new(null, "A signed request needs x-device-id, x-timestamp and x-signature.");
        }

        if (!options.Value.DoorsEnabled)
        {
            return new(null, "Signed requests are off on this instance (DeviceCaDirectory is not set).");
        }

        var authority = services.GetRequiredService<DeviceAuthority>();
        if (!long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return new(null, "x-timestamp must be Unix seconds.");
        }

        var skew = options.Value.DeviceSignatureMaxSkew;
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - timestamp) > (long)skew.TotalSeconds)
        {
            return new(null, $"Stale signature: x-timestamp is {now - timestamp} s from the server's clock (at most {(long)skew.TotalSeconds} s; DeviceSignatureMaxSkew).");
        }

        // Unknown, unenrolled and revoked devices get the same answer as a wrong signature: which
        // device ids exist is not told.
        const string BadSignature = "Bad signature: x-signature is not the HMAC-SHA256 of \"{x-timestamp}\\n{body}\" with this device's secret, or the device has no active credentials.";
        if (!DeviceRules.IsValidDeviceId(deviceId))
        {
            return new(null, BadSignature);
        }

        var device = await registry.ActiveDeviceAsync(deviceId, cancellationToken);
        var presented = new byte[32];
        var wellFormed = signatureText.Length == 64 && Convert.FromHexString(signatureText, presented, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
        // The MAC is computed even for an unknown device (with a throwaway key), so the time taken
        // does not tell whether the device exists.
        var secret = device is null ? "unknown-device" : authority.HmacSecret(device.DeviceId, device.CredentialGeneration);
        var expected = Mac(Encoding.UTF8.GetBytes(secret), timestamp, body.Span);
        if (!(CryptographicOperations.FixedTimeEquals(expected, presented) && wellFormed && device is not null))
        {
            return new(null, BadSignature);
        }

        // Only valid requests are recorded: nobody without the secret can fill the ledger.
        await ForgetStaleAsync(now, (long)skew.TotalSeconds, cancellationToken);
        return await ledger.FirstSightAsync(deviceId, timestamp, expected, cancellationToken)
            ? new(deviceId, null)
            : new(null, "Replayed: this device already sent a request with this x-timestamp and x-signature; sign each request, a retry too, with a new x-timestamp.");
    }

    /// <summary>At most once a minute per process: forgets what was signed before the window (such a timestamp is refused as stale anyway).</summary>
    private async ValueTask ForgetStaleAsync(long now, long skew, CancellationToken cancellationToken)
    {
        var last = Interlocked.Read(ref _lastCleanup);
        if (now - last < 60 || Interlocked.CompareExchange(ref _lastCleanup, now, last) != last)
        {
            return;
        }

        await ledger.ForgetBeforeAsync(now - skew - 1, cancellationToken);
    }

    /// <summary>
    /// Checks a request signed with a shared secret (fleet provisioning's startup event): the same
    /// <c>x-timestamp</c> and <c>x-signature</c> scheme, keyed with <paramref name="secret"/>. Null
    /// when valid, otherwise the problem.
    /// </summary>
    public string? VerifyShared(HttpRequest request, string secret, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(secret);
        string? timestampText = request.Headers[TimestampHeader];
        string? signatureText = request.Headers[SignatureHeader];
        if (string.IsNullOrEmpty(timestampText) || string.IsNullOrEmpty(signatureText))
        {
            return "A startup event needs x-timestamp and x-signature (HMAC-SHA256 of \"{x-timestamp}\\n{body}\" with the provisioning secret).";
        }

        if (!long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return "x-timestamp must be Unix seconds.";
        }

        var skew = (long)options.Value.DeviceSignatureMaxSkew.TotalSeconds;
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - timestamp) > skew)
        {
            return $"Stale signature: x-timestamp is {now - timestamp} s from the server's clock (at most {skew} s; DeviceSignatureMaxSkew).";
        }

        var presented = new byte[32];
        var wellFormed = signatureText.Length == 64 && Convert.FromHexString(signatureText, presented, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
        var expected = Mac(Encoding.UTF8.GetBytes(secret), timestamp, body);
        return CryptographicOperations.FixedTimeEquals(expected, presented) && wellFormed
            ? null
            : "Bad signature: x-signature is not the HMAC-SHA256 of \"{x-timestamp}\\n{body}\" with the provisioning secret.";
    }

    private static byte[] Mac(byte[] key, long timestamp, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "\n"));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
