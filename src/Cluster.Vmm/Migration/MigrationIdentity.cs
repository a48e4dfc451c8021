using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The target's side of one incoming migration's security: a one-time 256-bit token and, for an encrypted stream, a
/// self-signed ECDSA P-256 certificate valid for minutes, both made when the target gets ready and dropped with it.
/// Their <see cref="Credentials"/> travel to the source over the control plane; the VMM worker never holds the node's
/// own key. See <see cref="MigrationChannel"/> for how each connection proves itself.
/// </summary>
public sealed class MigrationIdentity : IDisposable
{
    /// <summary>How long a certificate is valid by default: a migration that has not connected by then has failed anyway.</summary>
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromMinutes(30);

    private readonly byte[] _token;

    private MigrationIdentity(byte[] token, X509Certificate2? certificate)
    {
        _token = token;
        Certificate = certificate;
        Credentials = new MigrationCredentials((byte[])token.Clone(), certificate is null ? null : SHA256.HashData(certificate.RawData));
    }

    /// <summary>The certificate with its private key; null for a plaintext stream.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>What the source needs: the token and the certificate's pin.</summary>
    public MigrationCredentials Credentials { get; }

    /// <summary>A fresh identity: TLS with a new key and certificate when <paramref name="encrypted"/>, else a token alone.</summary>
    public static MigrationIdentity Create(bool encrypted = true, TimeSpan? validity = null)
    {
        var token = RandomNumberGenerator.GetBytes(MigrationCredentials.TokenBytes);
        if (!encrypted) return new MigrationIdentity(token, null);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=cluster-hypervisor migration target", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        // A minute back, so that a source whose clock is slightly behind does not see a certificate from the future
        // (the pin is what is checked; the dates only bound the key's life).
        var certificate = request.CreateSelfSigned(now.AddMinutes(-1), now + (validity ?? DefaultValidity));
        return new MigrationIdentity(token, certificate);
    }

    /// <summary>Whether <paramref name="token"/> is this migration's (constant time).</summary>
    public bool TokenMatches(ReadOnlySpan<byte> token) => CryptographicOperations.FixedTimeEquals(token, _token);

    /// <summary>Frees the key.</summary>
    public void Dispose() => Certificate?.Dispose();
}
