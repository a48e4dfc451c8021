namespace Cluster.Serialization.Tls;

/// <summary>
/// The file names of the cluster's TLS material. A CA directory holds <see cref="CaCertificate"/> (the only root peers
/// are checked against), <see cref="CaKey"/> (mode 0600; needed only where certificates are issued) and
/// <see cref="Revoked"/>; a certificate NAME.crt has its private key beside it in NAME.key.
/// </summary>
public static class TlsFiles
{
    public const string CaCertificate = "ca.crt";

    public const string CaKey = "ca.key";

    public const string Revoked = "revoked";

    /// <summary>The name of the client certificate vmctl looks for in its TLS directory.</summary>
    public const string VmctlName = "vmctl";

    /// <summary>The private key file of certificate file <paramref name="certificate"/>: the same name ending in .key.</summary>
    public static string KeyOf(string certificate) => Path.ChangeExtension(certificate, ".key");

    /// <summary>The certificate file of <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static string CertificateIn(string directory, string name) => Path.Combine(directory, name + ".crt");
}
