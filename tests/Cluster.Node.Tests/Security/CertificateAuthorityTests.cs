using System.Security.Cryptography.X509Certificates;
using Cluster.Node.Security;
using Cluster.Serialization.Tls;

namespace Cluster.Node.Tests.Security;

/// <summary>The cluster CA's files and the trust decisions every TLS handshake makes with them.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ca-tests", Guid.NewGuid().ToString("N"));

    private string Ca => Path.Combine(_dir, "ca");

    private static X509Certificate2 Load(string file) => X509Certificate2.CreateFromPem(File.ReadAllText(file));

    [Fact]
    public void Init_writes_the_ca_with_a_private_key_only_its_owner_reads_and_never_overwrites_it()
    {
        var ca = CertificateAuthority.Init(Ca);
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Ca, TlsFiles.CaKey)));
        Assert.True(File.Exists(Path.Combine(Ca, TlsFiles.Revoked)));
        var before = File.ReadAllText(Path.Combine(Ca, TlsFiles.CaKey));
        Assert.Throws<IOException>(() => CertificateAuthority.Init(Ca));
        Assert.Equal(before, File.ReadAllText(Path.Combine(Ca, TlsFiles.CaKey)));
    }

    [Fact]
    public void A_rotation_trusts_both_cas_on_a_running_node_until_the_old_one_is_retired()
    {
        CertificateAuthority.Init(Ca);
        var old = CertificateAuthority.Issue(Ca, "127.0.0.51", Path.Combine(_dir, "old"));
        var trust = ClusterTrust.Load(Ca); // a node's trust, loaded before the rotation and never reloaded by hand
        var oldRoot = trust.Authority;
        var outsider = Path.Combine(_dir, "outsider");
        CertificateAuthority.Init(outsider);

        var rotated = CertificateAuthority.Rotate(Ca);
        Assert.NotEqual(oldRoot.Subject, rotated.Subject);
        Assert.Equal([rotated.Thumbprint, oldRoot.Thumbprint], ClusterTrust.ReadRoots(Path.Combine(Ca, TlsFiles.CaCertificate)).Select(r => r.Thumbprint));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Ca, TlsFiles.CaKey)));
        Assert.Single(Directory.GetFiles(Ca, TlsFiles.CaKey + ".retired-*"));
        var renewed = CertificateAuthority.Issue(Ca, "127.0.0.51", Path.Combine(_dir, "new"));
        Assert.Equal(rotated.Subject, Load(renewed.CertificateFile).Issuer);

        // The running node's trust read the changed file: both generations pass, a third CA still does not.
        Assert.Equal(rotated.Thumbprint, trust.Authority.Thumbprint);
        Assert.Null(trust.Check(Load(old.CertificateFile)));
        Assert.Null(trust.Check(Load(renewed.CertificateFile)));
        Assert.Contains("does not chain", trust.Check(Load(CertificateAuthority.Issue(outsider, "x", outsider).CertificateFile)));

        Assert.Equal([oldRoot.Subject], CertificateAuthority.Retire(Ca));
        Assert.Contains("does not chain", trust.Check(Load(old.CertificateFile)));
        Assert.Null(trust.Check(Load(renewed.CertificateFile)));
        Assert.Empty(CertificateAuthority.Retire(Ca));
    }

    [Fact]
    public void A_ca_file_that_stops_parsing_keeps_the_roots_read_before_and_says_why()
    {
        CertificateAuthority.Init(Ca);
        var mine = CertificateAuthority.Issue(Ca, "127.0.0.52", _dir);
        var trust = ClusterTrust.Load(Ca);
        File.WriteAllText(Path.Combine(Ca, TlsFiles.CaCertificate), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        Assert.Null(trust.Check(Load(mine.CertificateFile)));
        Assert.Contains("cannot be read", trust.LastError);
    }

    [Fact]
    public void The_ca_command_rotates_and_retires()
    {
        CertificateAuthority.Init(Ca);
        var output = new StringWriter();
        var errors = new StringWriter();
        Assert.Equal(0, CaCommand.Run(["rotate", "--ca", Ca], output, errors));
        Assert.Contains("the current CA is now", output.ToString());
        Assert.Equal(2, ClusterTrust.ReadRoots(Path.Combine(Ca, TlsFiles.CaCertificate)).Count);
        Assert.Equal(0, CaCommand.Run(["retire", "--ca", Ca], output, errors));
        Assert.Contains("no longer trusted", output.ToString());
        Assert.Single(ClusterTrust.ReadRoots(Path.Combine(Ca, TlsFiles.CaCertificate)));
        Assert.Equal(2, CaCommand.Run(["rotate", "x", "--ca", Ca], output, errors));
        Assert.Equal(1, CaCommand.Run(["rotate", "--ca", Path.Combine(_dir, "none")], output, errors));
    }

    [Fact]
    public void An_issued_certificate_is_trusted_and_one_from_another_ca_is_not()
    {
        CertificateAuthority.Init(Ca);
        CertificateAuthority.Init(Path.Combine(_dir, "other"));
        var mine = CertificateAuthority.Issue(Ca, "127.0.0.50", _dir);
        var foreign = CertificateAuthority.Issue(Path.Combine(_dir, "other"), "intruder", _dir);
        var trust = ClusterTrust.Load(Ca);

        Assert.Null(trust.Check(Load(mine.CertificateFile)));
        Assert.Contains("does not chain to the cluster CA", trust.Check(Load(foreign.CertificateFile)));
        Assert.Contains("no certificate", trust.Check(null));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(TlsFiles.KeyOf(mine.CertificateFile)));
        var loaded = RemoteTls.Load(Ca, mine.CertificateFile);
        Assert.True(loaded.Certificate.HasPrivateKey);
        Assert.Throws<RemoteTlsException>(() => RemoteTls.Load(Ca, foreign.CertificateFile));
    }

    [Fact]
    public void An_expired_or_not_yet_valid_certificate_is_refused()
    {
        CertificateAuthority.Init(Ca);
        var now = DateTimeOffset.UtcNow;
        var expired = CertificateAuthority.Issue(Ca, "old", Path.Combine(_dir, "old.crt"), now.AddHours(-20), now.AddHours(-1));
        var future = CertificateAuthority.Issue(Ca, "early", Path.Combine(_dir, "early.crt"), now.AddDays(1), now.AddDays(10));
        var trust = ClusterTrust.Load(Ca);

        Assert.Contains("is not valid now", trust.Check(Load(expired.CertificateFile)));
        Assert.Contains("is not valid now", trust.Check(Load(future.CertificateFile)));
        Assert.Null(trust.Check(Load(expired.CertificateFile), now.AddHours(-10).UtcDateTime));
        Assert.Contains("would be refused", Assert.Throws<RemoteTlsException>(() => RemoteTls.Load(Ca, expired.CertificateFile)).Message);
    }

    [Fact]
    public void A_serial_appended_to_the_revocation_list_is_refused_by_a_trust_already_in_use()
    {
        CertificateAuthority.Init(Ca);
        var node = CertificateAuthority.Issue(Ca, "node-a", _dir);
        var other = CertificateAuthority.Issue(Ca, "node-b", _dir);
        var trust = ClusterTrust.Load(Ca);
        Assert.Null(trust.Check(Load(node.CertificateFile)));

        Assert.Equal(node.Serial, CertificateAuthority.Revoke(Ca, node.CertificateFile));

        Assert.Contains($"serial {node.Serial} is revoked", trust.Check(Load(node.CertificateFile)));
        Assert.Null(trust.Check(Load(other.CertificateFile)));
    }

    [Fact]
    public void A_revocation_list_with_a_bad_line_refuses_every_peer_and_says_which_line()
    {
        CertificateAuthority.Init(Ca);
        var node = CertificateAuthority.Issue(Ca, "node-a", _dir);
        File.AppendAllText(Path.Combine(Ca, TlsFiles.Revoked), "0A1B  # fine\nnot-a-serial\n");

        Assert.Contains("line 3 is not a certificate serial", ClusterTrust.Load(Ca).Check(Load(node.CertificateFile)));
    }

    [Fact]
    public void The_ca_command_issues_and_revokes_and_rejects_bad_input_with_usage()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, CaCommand.Run(["init", "--dir", Ca], stdout, stderr));
        Assert.Equal(0, CaCommand.Run(["issue", "host1", "--ca", Ca, "--out", _dir, "--days", "2"], stdout, stderr));
        var issued = Load(Path.Combine(_dir, "host1.crt"));
        Assert.InRange((issued.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalDays, 1.9, 2.1);
        var ip = Load(CertificateAuthority.Issue(Ca, "127.0.0.1", _dir).CertificateFile);
        Assert.Contains(System.Net.IPAddress.Loopback, ip.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateIPAddresses());
        Assert.Equal(0, CaCommand.Run(["revoke", Path.Combine(_dir, "host1.crt"), "--ca", Ca], stdout, stderr));
        Assert.Contains(RevocationList.Normalize(issued.SerialNumber), File.ReadAllText(Path.Combine(Ca, TlsFiles.Revoked)));

        Assert.Equal(2, CaCommand.Run(["issue", "--ca", Ca], stdout, stderr));
        Assert.Equal(2, CaCommand.Run(["issue", "h", "--ca", Ca, "--days", "0"], stdout, stderr));
        Assert.Equal(2, CaCommand.Run(["issue", "h", "--dir", Ca], stdout, stderr));
        Assert.Equal(1, CaCommand.Run(["issue", "bad/name", "--ca", Ca], stdout, stderr));
        Assert.Equal(1, CaCommand.Run(["issue", "h", "--ca", Path.Combine(_dir, "none")], stdout, stderr));
        Assert.Equal(1, CaCommand.Run(["issue", "h", "--ca", Ca, "--days", "36500"], stdout, stderr));
        Assert.Equal(1, CaCommand.Run(["init", "--dir", Ca], stdout, stderr));
        Assert.Equal(1, CaCommand.Run(["revoke", "xyz", "--ca", Ca], stdout, stderr));
        Assert.Contains("bad name", stderr.ToString());
        Assert.Contains("has no CA", stderr.ToString());
        Assert.Contains("outlive the CA", stderr.ToString());
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
