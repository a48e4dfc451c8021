using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cluster.Serialization.Tls;

namespace Cluster.Node.Security;

/// <summary>A certificate written by <see cref="CertificateAuthority.Issue(string,string,string,DateTimeOffset,DateTimeOffset)"/>.</summary>
/// <param name="CertificateFile">NAME.crt (PEM); the key is beside it in NAME.key (mode 0600).</param>
/// <param name="Serial">The serial number in hex, as the revocation list takes it.</param>
/// <param name="NotAfter">The end of its validity.</param>
public sealed record IssuedCertificate(string CertificateFile, string Serial, DateTimeOffset NotAfter);

/// <summary>
/// The cluster CA, as kubeadm's and Proxmox's: a self-signed ECDSA P-256 certificate whose key stays in the CA directory
/// (ca.key, mode 0600), and certificates issued from it for nodes and clients (vmctl), each with both the server and the
/// client authentication usage, since a node dials its peers and is dialled by them. Akka.Remote's DotNetty transport
/// runs over .NET's SslStream, which takes ECDSA certificates (TLS 1.2 ECDHE-ECDSA and TLS 1.3).
/// </summary>
public static class CertificateAuthority
{
    /// <summary>Validity of a new CA (days).</summary>
    public const int DefaultCaDays = 3650;

    /// <summary>Validity of an issued certificate (days), as kubeadm's one year.</summary>
    public const int DefaultDays = 365;

    private const UnixFileMode SecretMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the CA in <paramref name="directory"/>: ca.crt, ca.key (0600) and an empty revocation list.</summary>
    /// <exception cref="IOException">a CA is already there (it is never overwritten).</exception>
    public static X509Certificate2 Init(string directory, int days = DefaultCaDays)
    {
        var certificateFile = Path.Combine(directory, TlsFiles.CaCertificate);
        var keyFile = Path.Combine(directory, TlsFiles.CaKey);
        if (File.Exists(certificateFile) || File.Exists(keyFile))
            throw new IOException($"{directory} already holds a CA ({TlsFiles.CaCertificate}/{TlsFiles.CaKey}); it is never overwritten");
        Directory.CreateDirectory(directory);
        var (certificate, key) = NewAuthority(days);
        using (key)
            WriteSecret(keyFile, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n");
        var revoked = Path.Combine(directory, TlsFiles.Revoked);
        if (!File.Exists(revoked))
            File.WriteAllText(revoked, "# Revoked certificate serials (hex), one a line; every node re-reads this file at each TLS handshake.\n");
        return certificate;
    }

    /// <summary>
    /// Starts a CA rotation in <paramref name="directory"/>: a new CA key and certificate become the current ones (ca.key,
    /// the first certificate of ca.crt, which issues from now on) while every root ca.crt held stays trusted after it, so
    /// certificates of the old CA and of the new one are accepted side by side. The old key is kept as
    /// ca.key.retired-SERIAL (0600). Nodes read ca.crt again at their next TLS handshake; each node started with this
    /// directory issues itself a certificate of the new CA at its next start. <see cref="Retire"/> ends the rotation.
    /// </summary>
    /// <returns>The new CA certificate.</returns>
    /// <exception cref="IOException">no CA in <paramref name="directory"/>.</exception>
    public static X509Certificate2 Rotate(string directory, int days = DefaultCaDays)
    {
        var certificateFile = Path.Combine(directory, TlsFiles.CaCertificate);
        var keyFile = Path.Combine(directory, TlsFiles.CaKey);
        using var current = LoadAuthority(directory);
        var roots = ClusterTrust.ReadRoots(certificateFile);
        var (certificate, key) = NewAuthority(days);
        using (key)
        {
            File.Copy(keyFile, $"{keyFile}.retired-{RevocationList.Normalize(current.SerialNumber)}", overwrite: true);
            WriteSecret(keyFile, key.ExportPkcs8PrivateKeyPem());
        }
        WriteAtomically(certificateFile, string.Concat(new[] { certificate }.Concat(roots).Select(c => c.ExportCertificatePem() + "\n")));
        return certificate;
    }

    /// <summary>
    /// Ends a CA rotation: ca.crt keeps only its current (first) root, so certificates of the retired CAs are refused from
    /// every node's next TLS handshake on. Run it once every node and client holds a certificate of the current CA.
    /// </summary>
    /// <returns>The subjects of the roots no longer trusted.</returns>
    public static IReadOnlyList<string> Retire(string directory)
    {
        var certificateFile = Path.Combine(directory, TlsFiles.CaCertificate);
        var roots = ClusterTrust.ReadRoots(certificateFile);
        if (roots.Count > 1)
            WriteAtomically(certificateFile, roots[0].ExportCertificatePem() + "\n");
        return [.. roots.Skip(1).Select(r => r.Subject)];
    }

    /// <summary>Issues <paramref name="name"/> for <paramref name="days"/> days into <paramref name="outDirectory"/>/NAME.crt.</summary>
    public static IssuedCertificate Issue(string caDirectory, string name, string outDirectory, int days = DefaultDays)
    {
        var now = DateTimeOffset.UtcNow;
        return Issue(caDirectory, name, TlsFiles.CertificateIn(outDirectory, name), now.AddMinutes(-5), now.AddDays(days));
    }

    /// <summary>
    /// Issues a certificate for <paramref name="name"/> (its common name, and its subject alternative name: an IP address
    /// when it parses as one, else a DNS name) valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>, written
    /// to <paramref name="certificateFile"/> with its new key beside it (replacing an older pair: that is rotation).
    /// </summary>
    /// <exception cref="ArgumentException">a bad name, or a validity outside the CA's.</exception>
    /// <exception cref="IOException">no CA key in <paramref name="caDirectory"/>.</exception>
    public static IssuedCertificate Issue(string caDirectory, string name, string certificateFile, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        if (name.Length == 0 || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new ArgumentException($"bad name '{name}' (letters, digits, '.', '-' and '_', at most 64)");
        using var authority = LoadAuthority(caDirectory);
        if (notAfter > authority.NotAfter)
            throw new ArgumentException($"the certificate would outlive the CA (valid until {authority.NotAfter.ToUniversalTime():u}): ask for fewer days");
        if (notBefore < authority.NotBefore)
            throw new ArgumentException($"the certificate would start before the CA (valid from {authority.NotBefore.ToUniversalTime():u})");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}, O=cluster-hypervisor"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "serverAuth"), new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], false));
        var alternative = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(name, out var address))
            alternative.AddIpAddress(address);
        else
            alternative.AddDnsName(name);
        request.CertificateExtensions.Add(alternative.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x10);
        using var certificate = request.Create(authority, notBefore, notAfter, serial);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(certificateFile))!);
        WriteSecret(TlsFiles.KeyOf(certificateFile), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n");
        return new IssuedCertificate(certificateFile, RevocationList.Normalize(certificate.SerialNumber), notAfter);
    }

    /// <summary>Appends the serial of <paramref name="certificateOrSerial"/> (a certificate file or a hex serial) to the revocation list.</summary>
    /// <returns>The serial revoked.</returns>
    public static string Revoke(string caDirectory, string certificateOrSerial)
    {
        string serial;
        string note;
        if (File.Exists(certificateOrSerial))
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateOrSerial));
            serial = RevocationList.Normalize(certificate.SerialNumber);
            note = certificate.Subject;
        }
        else
        {
            serial = RevocationList.Normalize(certificateOrSerial);
            note = "";
        }
        var path = Path.Combine(caDirectory, TlsFiles.Revoked);
        var line = $"{serial}  # {note} revoked {DateTimeOffset.UtcNow:u}";
        if (RevocationList.Parse([line], path).Error is { } error)
            throw new ArgumentException($"'{certificateOrSerial}' is neither a certificate file nor a serial ({error})");
        File.AppendAllText(path, line + "\n");
        return serial;
    }

    /// <summary>A new self-signed CA (ECDSA P-256, a random suffix in its name so that rotated CAs differ) and its key.</summary>
    private static (X509Certificate2 Certificate, ECDsa Key) NewAuthority(int days)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(
            new X500DistinguishedName($"CN=cluster-hypervisor CA {Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}, O=cluster-hypervisor"),
            key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        // Valid from a day back, so that a peer whose clock lags is not refused.
        return (request.CreateSelfSigned(now.AddDays(-1), now.AddDays(days)), key);
    }

    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    private static X509Certificate2 LoadAuthority(string caDirectory)
    {
        var certificateFile = Path.Combine(caDirectory, TlsFiles.CaCertificate);
        var keyFile = Path.Combine(caDirectory, TlsFiles.CaKey);
        if (!File.Exists(certificateFile) || !File.Exists(keyFile))
            throw new IOException($"{caDirectory} has no CA ({TlsFiles.CaCertificate} and {TlsFiles.CaKey}): create one with 'cluster-node ca init --dir {caDirectory}'");
        return X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
    }

    private static void WriteSecret(string path, string text)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = SecretMode;
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(text + "\n");
        File.Move(temporary, path, overwrite: true);
    }
}
