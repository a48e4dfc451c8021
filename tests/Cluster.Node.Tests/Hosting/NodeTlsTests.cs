using Cluster.Node.Hosting;
using Cluster.Node.Security;
using Cluster.Serialization.Tls;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Tests.Hosting;

/// <summary>How a node finds or makes its TLS identity from its options and data directory.</summary>
public sealed class NodeTlsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "node-tls-tests", Guid.NewGuid().ToString("N"));

    private NodeOptions Options(string? ca = null, string? cert = null) =>
        new(null, 0, Path.Combine(_dir, "data"), BackendKind.Emulated, CaDirectory: ca, CertificateFile: cert);

    [Fact]
    public void Without_a_ca_the_first_start_makes_one_in_the_data_directory_with_node_and_vmctl_certificates_and_reuses_them()
    {
        var first = NodeTls.Resolve(Options());
        var tls = Path.Combine(_dir, "data", "tls");
        foreach (var file in new[] { "ca.crt", "ca.key", "revoked", "node.crt", "node.key", "vmctl.crt", "vmctl.key" })
            Assert.True(File.Exists(Path.Combine(tls, file)), file);
        var again = NodeTls.Resolve(Options());
        Assert.Equal(first.Certificate.SerialNumber, again.Certificate.SerialNumber);
        Assert.Equal(first.Trust.Authority.Thumbprint, Cluster.Vmctl.Client.ClientTls.Load(tls).Trust.Authority.Thumbprint);
    }

    [Fact]
    public void With_a_shared_ca_the_node_issues_its_own_certificate_from_it_and_without_its_key_says_what_to_do()
    {
        var ca = Path.Combine(_dir, "ca");
        CertificateAuthority.Init(ca);
        var tls = NodeTls.Resolve(Options(ca));
        Assert.Equal(ClusterTrust.Load(ca).Authority.Thumbprint, tls.Trust.Authority.Thumbprint);
        Assert.False(File.Exists(Path.Combine(_dir, "data", "tls", "vmctl.crt")));

        var copy = Path.Combine(_dir, "ca-public");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(ca, TlsFiles.CaCertificate), Path.Combine(copy, TlsFiles.CaCertificate));
        var elsewhere = new NodeOptions(null, 0, Path.Combine(_dir, "data2"), BackendKind.Emulated, CaDirectory: copy);
        Assert.Contains("cluster-node ca issue", Assert.Throws<RemoteTlsException>(() => NodeTls.Resolve(elsewhere)).Message);

        var other = Path.Combine(_dir, "other");
        CertificateAuthority.Init(other);
        var foreign = CertificateAuthority.Issue(other, "n2", _dir);
        Assert.Contains("does not chain", Assert.Throws<RemoteTlsException>(() => NodeTls.Resolve(Options(ca, foreign.CertificateFile))).Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
