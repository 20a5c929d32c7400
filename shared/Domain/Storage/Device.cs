namespace SensorPipeline.Domain.Storage;

/// <summary>A device as the registry keeps it (never a secret).</summary>
public sealed record Device(
    string DeviceId,
    string HardwareId,
    string? DisplayName,
    string? Firmware,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastSeenAt,
    string CredentialState,
    int CredentialGeneration,
    string? CertificateSerial,
    string? CertificateThumbprint,
    DateTimeOffset? CertificateNotAfter,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastBootAt)
{
    public const string None = "none";
    public const string Active = "active";
    public const string Revoked = "revoked";
}
