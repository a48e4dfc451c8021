using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.Serialization.Tls;

/// <summary>
/// Decides whether a TLS peer belongs to the cluster: its certificate must chain to a cluster CA, taken as the only
/// roots (the system store is not consulted), be within its validity period and not be on the CA directory's revocation
/// list. Host names are not checked: a peer is identified by the CA that issued it, as nodes dial each other by address.
/// The CA file may hold several roots (a CA rotation: the current CA first, the one being retired after it, see
/// <c>cluster-node ca rotate</c>); it is read again whenever its size or modification time changes, so a root added or
/// retired on a running node counts from its next TLS handshake. A file that stops being readable keeps the roots last read
/// (logged by the caller through <see cref="LastError"/>).
/// </summary>
public sealed class ClusterTrust
{
    private readonly string? _path;
    private readonly RevocationList _revoked;
    private readonly object _gate = new();
    private (DateTime Written, long Length) _seen;
    private IReadOnlyList<X509Certificate2> _authorities;

    private ClusterTrust(string? path, IReadOnlyList<X509Certificate2> authorities, RevocationList revoked)
    {
        _path = path;
        _authorities = authorities;
        _revoked = revoked;
        _seen = path is null ? default : Stamp(path);
    }

    /// <summary>The current cluster CA's certificate (the first of the CA file: the one that issues).</summary>
    public X509Certificate2 Authority => Authorities[0];

    /// <summary>Every trusted cluster root, the current one first.</summary>
    public IReadOnlyList<X509Certificate2> Authorities
    {
        get
        {
            lock (_gate)
            {
                Refresh();
                return _authorities;
            }
        }
    }

    /// <summary>Why the CA file could not be read again the last time it changed; null when it could.</summary>
    public string? LastError { get; private set; }

    /// <summary>Reads the CA certificates of <paramref name="caDirectory"/>; its revocation list is read on every check.</summary>
    /// <exception cref="RemoteTlsException">no readable CA certificate there.</exception>
    public static ClusterTrust Load(string caDirectory)
    {
        var path = Path.Combine(caDirectory, TlsFiles.CaCertificate);
        if (!File.Exists(path))
            throw new RemoteTlsException($"no cluster CA certificate at {path} (create one with 'cluster-node ca init --dir {caDirectory}')");
        try
        {
            return new ClusterTrust(path, ReadRoots(path), new RevocationList(Path.Combine(caDirectory, TlsFiles.Revoked)));
        }
        catch (CryptographicException e)
        {
            throw new RemoteTlsException($"the CA certificate {path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>The certificates of a PEM file, in order.</summary>
    /// <exception cref="CryptographicException">none, or one that does not parse.</exception>
    public static IReadOnlyList<X509Certificate2> ReadRoots(string path)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(path);
        return collection.Count > 0 ? [.. collection] : throw new CryptographicException($"{path} holds no certificate");
    }

    /// <summary>Null when <paramref name="peer"/> may talk to this cluster; otherwise why not.</summary>
    public string? Check(X509Certificate2? peer) => Check(peer, DateTime.Now);

    /// <summary>Null when <paramref name="peer"/> is acceptable at <paramref name="at"/>; otherwise why not.</summary>
    public string? Check(X509Certificate2? peer, DateTime at)
    {
        if (peer is null)
            return "the peer presented no certificate";
        var roots = Authorities;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = at;
        var names = string.Join("' or '", roots.Select(r => r.Subject));
        if (!chain.Build(peer))
        {
            var statuses = chain.ChainStatus.Select(s => s.Status).Distinct().ToList();
            if (statuses.Contains(X509ChainStatusFlags.NotTimeValid))
                return $"certificate '{peer.Subject}' (serial {peer.SerialNumber}) is not valid now: valid from {peer.NotBefore:u} to {peer.NotAfter:u}";
            if (statuses.Contains(X509ChainStatusFlags.UntrustedRoot) || statuses.Contains(X509ChainStatusFlags.PartialChain))
                return $"certificate '{peer.Subject}' issued by '{peer.Issuer}' does not chain to the cluster CA '{names}'";
            return $"certificate '{peer.Subject}' fails the chain check: {string.Join(", ", statuses)}";
        }
        var root = chain.ChainElements[^1].Certificate;
        if (!roots.Any(r => root.RawDataMemory.Span.SequenceEqual(r.RawDataMemory.Span)))
            return $"certificate '{peer.Subject}' chains to '{root.Subject}', not to the cluster CA '{names}'";
        return _revoked.Check(peer.SerialNumber);
    }

    private void Refresh()
    {
        if (_path is null)
            return;
        var now = Stamp(_path);
        if (now == _seen)
            return;
        _seen = now;
        try
        {
            _authorities = ReadRoots(_path);
            LastError = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            LastError = $"the CA file {_path} changed and cannot be read ({e.Message}); the roots read before stay trusted";
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
    }
}
