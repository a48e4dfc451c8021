using Cluster.Serialization.Tls;

namespace Cluster.Vmctl.Client;

/// <summary>
/// Where vmctl finds its TLS client identity: the directory named by <c>VMCTL_TLS</c>, else <c>data/tls</c> (the TLS
/// directory of a node started with the default <c>--data data</c>, which issues a vmctl certificate on first start).
/// The directory holds the cluster CA's ca.crt (and revoked) and vmctl.crt with vmctl.key, as
/// <c>cluster-node ca issue vmctl --ca DIR</c> leaves them in a CA directory.
/// </summary>
public static class ClientTls
{
    /// <summary>The environment variable that names the directory.</summary>
    public const string Variable = "VMCTL_TLS";

    /// <summary>The directory used when <see cref="Variable"/> is not set.</summary>
    public static string DefaultDirectory => Path.Combine("data", "tls");

    /// <summary>Loads the identity from <paramref name="directory"/> (null: <see cref="Variable"/> or the default).</summary>
    /// <exception cref="RemoteTlsException">the CA certificate or the client certificate is missing or not acceptable.</exception>
    public static RemoteTls Load(string? directory = null)
    {
        var dir = directory ?? (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } set ? set : DefaultDirectory);
        if (!Directory.Exists(dir))
            throw new RemoteTlsException(
                $"no TLS directory {dir}: set {Variable} to a directory with the cluster's ca.crt and vmctl.crt/vmctl.key " +
                "('cluster-node ca issue vmctl --ca CADIR'; a node started with --data D keeps them in D/tls)");
        return RemoteTls.Load(dir, TlsFiles.CertificateIn(dir, TlsFiles.VmctlName));
    }
}
