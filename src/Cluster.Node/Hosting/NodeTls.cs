using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cluster.Node.Security;
using Cluster.Serialization.Tls;

namespace Cluster.Node.Hosting;

/// <summary>
/// Finds (or makes) a node's TLS identity. Without <c>--ca</c> the data directory's own CA is the cluster's: DATA/tls is
/// created on first start as a CA directory holding the node's certificate (node.crt) and a vmctl client certificate
/// (vmctl.crt), so <c>cluster-node run --data D</c> stays one command. With <c>--ca DIR</c> every node trusts that CA; a
/// node without <c>--cert</c> keeps its certificate in DATA/tls/node.crt and issues it from DIR's key when it has none.
/// A certificate the node issued itself is issued again when it is within <see cref="RenewBefore"/> of its end.
/// </summary>
public static class NodeTls
{
    /// <summary>How long before its end a self-issued certificate is replaced at start.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>The node's TLS: its CA directory and certificate, created where the options leave that to the node.</summary>
    /// <exception cref="RemoteTlsException">the material is missing, unreadable or would be refused by the cluster.</exception>
    public static RemoteTls Resolve(NodeOptions options)
    {
        var own = Path.Combine(options.DataDirectory, "tls");
        var caDirectory = options.CaDirectory ?? own;
        var certificate = options.CertificateFile ?? TlsFiles.CertificateIn(own, "node");
        try
        {
            if (options.CaDirectory is null && !File.Exists(Path.Combine(own, TlsFiles.CaCertificate)))
                CertificateAuthority.Init(own);
            var canIssue = File.Exists(Path.Combine(caDirectory, TlsFiles.CaKey));
            if (options.CertificateFile is null && canIssue && NeedsIssuing(certificate, caDirectory))
                CertificateAuthority.Issue(caDirectory, options.Hostname, certificate, DateTimeOffset.UtcNow.AddMinutes(-5),
                    DateTimeOffset.UtcNow.AddDays(CertificateAuthority.DefaultDays));
            var vmctl = TlsFiles.CertificateIn(own, TlsFiles.VmctlName);
            if (options.CaDirectory is null && canIssue && NeedsIssuing(vmctl, caDirectory))
                CertificateAuthority.Issue(own, TlsFiles.VmctlName, own);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            throw new RemoteTlsException($"cannot prepare this node's TLS in {own}: {e.Message}", e);
        }
        return RemoteTls.Load(caDirectory, certificate);
    }

    private static bool NeedsIssuing(string certificateFile, string caDirectory)
    {
        if (!File.Exists(certificateFile) || !File.Exists(TlsFiles.KeyOf(certificateFile)))
            return true;
        using var existing = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
        using var authority = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(caDirectory, TlsFiles.CaCertificate)));
        return existing.NotAfter.ToUniversalTime() - DateTime.UtcNow < RenewBefore || existing.Issuer != authority.Subject;
    }
}
