namespace SensorPipeline.Functions.Devices;

/// <summary>A device's credentials as issued: shown once, never stored.</summary>
public sealed record IssuedCredentials(string CertificatePem, string PrivateKeyPem, string Serial, string Thumbprint, DateTimeOffset NotAfter, string HmacSecret);
