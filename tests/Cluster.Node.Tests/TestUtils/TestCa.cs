using Cluster.Node.Security;
using Cluster.Serialization.Tls;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// One cluster CA for the whole test run (created on first use in a temporary directory): every node process the tests
/// start gets <see cref="NodeArgs"/> and issues its own certificate from it; vmctl processes get it through VMCTL_TLS
/// (<see cref="ProcessRunner.DotnetExec"/>), in-test clients through <see cref="Client"/>.
/// </summary>
public static class TestCa
{
    private static readonly Lazy<string> Created = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The CA directory: ca.crt, ca.key, revoked and vmctl.crt/vmctl.key.</summary>
    public static string Directory => Created.Value;

    /// <summary>The arguments that put a node in this CA's cluster.</summary>
    public static string[] NodeArgs => ["--ca", Directory];

    /// <summary>The vmctl identity, for in-test clients.</summary>
    public static RemoteTls Client => RemoteTls.Load(Directory, TlsFiles.CertificateIn(Directory, TlsFiles.VmctlName));

    private static string Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cluster-tests-ca", Guid.NewGuid().ToString("N"));
        CertificateAuthority.Init(directory);
        CertificateAuthority.Issue(directory, TlsFiles.VmctlName, directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return directory;
    }
}
