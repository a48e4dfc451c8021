using System.Security.Cryptography;

namespace Cluster.Vmm.Migration;

/// <summary>
/// What a migration source must know to reach one prepared target (<see cref="MigrationIdentity"/>), handed to it
/// over the cluster's control plane (never over the migration port): the one-time token it sends first on every
/// connection, and the SHA-256 pin of the target's short-lived TLS certificate; no pin means the target offered a
/// plaintext stream (an explicit option, for benchmark comparisons only).
/// </summary>
/// <param name="Token">The target's one-time secret, <see cref="TokenBytes"/> bytes.</param>
/// <param name="CertificatePin">SHA-256 of the target certificate's DER bytes, or null for a plaintext stream.</param>
public sealed record MigrationCredentials(byte[] Token, byte[]? CertificatePin)
{
    /// <summary>Bytes of a token (256 bits).</summary>
    public const int TokenBytes = 32;

    /// <summary>Bytes of a certificate pin (SHA-256).</summary>
    public const int PinBytes = 32;

    /// <summary>Whether the stream is TLS (a pin is given).</summary>
    public bool Encrypted => CertificatePin is not null;

    /// <summary>Checks the sizes; throws with the reason when they are wrong.</summary>
    /// <exception cref="VmmException">a token or pin of the wrong size.</exception>
    public MigrationCredentials Validated()
    {
        if (Token is null || Token.Length != TokenBytes)
            throw new VmmException($"a migration token has {TokenBytes} bytes, not {Token?.Length ?? 0}", "migration-credentials");
        if (CertificatePin is not null && CertificatePin.Length != PinBytes)
            throw new VmmException($"a certificate pin has {PinBytes} bytes (SHA-256), not {CertificatePin.Length}", "migration-credentials");
        return this;
    }

    /// <summary>Whether <paramref name="der"/> is the pinned certificate (constant time).</summary>
    public bool PinMatches(ReadOnlySpan<byte> der) =>
        CertificatePin is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(der), CertificatePin);

    /// <summary>The pin in hex, for logs (never the token).</summary>
    public override string ToString() => $"MigrationCredentials(pin {(CertificatePin is null ? "none: plaintext" : Convert.ToHexStringLower(CertificatePin))})";
}
