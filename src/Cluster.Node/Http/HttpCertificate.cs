using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.Node.Http;

/// <summary>
/// The HTTP API's TLS certificate: the operator's (<c>--http-cert PATH --http-key PATH</c>, PEM), or else a self-signed
/// one that the node makes on its first start in its data directory (<see cref="CertificateFile"/>, and
/// <see cref="KeyFile"/> with mode 0600), for the API's address, 127.0.0.1, ::1 and localhost. Clients trust the
/// self-signed one by pinning its file as their CA (<c>curl --cacert DATA/http-cert.pem</c>).
/// </summary>
public static class HttpCertificate
{
    /// <summary>The self-signed certificate's file in the data directory (PEM).</summary>
    public const string CertificateFile = "http-cert.pem";

    /// <summary>Its private key's file (PKCS#8 PEM, mode 0600).</summary>
    public const string KeyFile = "http-key.pem";

    /// <summary>The certificate and key from PEM files.</summary>
    /// <exception cref="IOException">a file is missing or holds no certificate or key.</exception>
    public static X509Certificate2 Load(string certificatePath, string keyPath)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (CryptographicException e)
        {
            throw new IOException($"cannot use {certificatePath} with {keyPath}: {e.Message}", e);
        }
    }

    /// <summary>The data directory's self-signed certificate for <paramref name="address"/>; made when missing.</summary>
    public static X509Certificate2 EnsureSelfSigned(string dataDirectory, IPAddress address, out bool created)
    {
        var certificatePath = Path.Combine(dataDirectory, CertificateFile);
        var keyPath = Path.Combine(dataDirectory, KeyFile);
        created = !File.Exists(certificatePath) || !File.Exists(keyPath);
        if (created)
        {
            Directory.CreateDirectory(dataDirectory);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=cluster-node HTTP API", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            names.AddIpAddress(IPAddress.IPv6Loopback);
            if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !IPAddress.IsLoopback(address))
                names.AddIpAddress(address);
            else if (IPAddress.IsLoopback(address) && !address.Equals(IPAddress.Loopback))
                names.AddIpAddress(address);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(5));
            WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        }
        return Load(certificatePath, keyPath);
    }

    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }
}
