using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SensorPipeline.Functions.Devices;

/// <summary>
/// The project's device CA (ECDSA P-256, made with .NET's CertificateRequest): it signs device
/// client certificates and the broker's server certificate. Kept in a folder (ca.crt, ca.key, and
/// hmac.key — the group key each device's HMAC secret is derived from, as Azure DPS derives
/// symmetric keys: HMAC-SHA256(group key, "{deviceId}/{generation}"), so nothing per device is
/// stored). The folder is created on first start with owner-only permissions.
/// </summary>
public sealed class DeviceAuthority : IDisposable
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private readonly X509Certificate2 _ca;
    private readonly byte[] _groupKey;

    private DeviceAuthority(string directory, X509Certificate2 ca, byte[] groupKey, bool created)
    {
        Directory = directory;
        _ca = ca;
        _groupKey = groupKey;
        Created = created;
        CaCertificatePem = ca.ExportCertificatePem();
    }

    public string Directory { get; }

    /// <summary>True when this start created the CA.</summary>
    public bool Created { get; }

    public string CaCertificatePem { get; }

    /// <summary>The CA's certificate without its key (for chain validation).</summary>
    public X509Certificate2 CaCertificate => _ca;

    /// <summary>Loads the CA from <paramref name="directory"/>, creating it (and the folder) when absent.</summary>
    public static DeviceAuthority LoadOrCreate(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        directory = Path.GetFullPath(directory);
        var certPath = Path.Combine(directory, "ca.crt");
        var keyPath = Path.Combine(directory, "ca.key");
        var hmacPath = Path.Combine(directory, "hmac.key");
        if (File.Exists(certPath) && File.Exists(keyPath) && File.Exists(hmacPath))
        {
            var loaded = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            return new DeviceAuthority(directory, loaded, Convert.FromBase64String(File.ReadAllText(hmacPath).Trim()), created: false);
        }

        if (File.Exists(certPath) || File.Exists(keyPath) || File.Exists(hmacPath))
        {
            throw new InvalidOperationException($"The device CA folder {directory} has some of ca.crt, ca.key, hmac.key but not all: restore the missing file or empty the folder (every enrolled device then needs new credentials).");
        }

        System.IO.Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=SensorPipeline device CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        var groupKey = RandomNumberGenerator.GetBytes(32);
        WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        WritePrivate(hmacPath, Convert.ToBase64String(groupKey));
        File.WriteAllText(certPath, ca.ExportCertificatePem());
        return new DeviceAuthority(directory, X509Certificate2.CreateFromPemFile(certPath, keyPath), groupKey, created: true);
    }

    /// <summary>A client certificate (CN = device id, clientAuth) and the HMAC secret of a credential generation.</summary>
    public IssuedCredentials Issue(string deviceId, int generation, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + deviceId), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + lifetime;
        if (notAfter > _ca.NotAfter)
        {
            notAfter = _ca.NotAfter;
        }

        using var certificate = request.Create(_ca, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
        return new IssuedCredentials(
            certificate.ExportCertificatePem(),
            key.ExportPkcs8PrivateKeyPem(),
            certificate.SerialNumber,
            certificate.GetCertHashString(HashAlgorithmName.SHA256),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
            HmacSecret(deviceId, generation));
    }

    /// <summary>The broker's server certificate (with its key), valid for localhost, 127.0.0.1, ::1 and <paramref name="host"/>.</summary>
    public X509Certificate2 IssueServerCertificate(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + host, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        if (IPAddress.TryParse(host, out var ip))
        {
            names.AddIpAddress(ip);
        }
        else if (host != "localhost")
        {
            names.AddDnsName(host);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(_ca, now.AddMinutes(-5), now.AddDays(90) < _ca.NotAfter ? now.AddDays(90) : _ca.NotAfter, RandomNumberGenerator.GetBytes(16));
        using var withKey = certificate.CopyWithPrivateKey(key);
        // Through PKCS#12 so that SslStream gets a key it can use on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>HMAC-SHA256(group key, "{deviceId}/{generation}") as hex: a new generation (re-enrolment) is a new secret.</summary>
    public string HmacSecret(string deviceId, int generation) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_groupKey, Encoding.UTF8.GetBytes($"{deviceId}/{generation}")));

    /// <summary>
    /// True when <paramref name="certificate"/> chains to this CA alone (custom trust store, no
    /// system roots), is within its validity and allows client authentication.
    /// </summary>
    public bool IsIssuedClientCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // revocation is the registry's credential state
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthOid));
        return chain.Build(certificate);
    }

    /// <summary>The CN of a certificate: the device id.</summary>
    public static string? CommonName(X509Certificate2 certificate) =>
        certificate?.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(text));
    }

    public void Dispose() => _ca.Dispose();

    internal static AsnEncodedData? Unused => null;
}
