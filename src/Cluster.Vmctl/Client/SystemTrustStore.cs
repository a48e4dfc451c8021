using System.Runtime.InteropServices;

namespace Cluster.Vmctl.Client;

/// <summary>
/// Keeps this process from reading the system's trusted roots. vmctl trusts only the CA file it is given
/// (<c>--cacert</c>, <see cref="HttpsControlClient.LoadTrusted"/>), yet .NET on Linux reads and parses every certificate under
/// /etc/ssl/certs the first time it builds any chain (60-170 ms of a call that should take tens of ms). OpenSSL and
/// .NET take the store's location from SSL_CERT_FILE and SSL_CERT_DIR as the C library sees them, so they are pointed
/// at nothing for this process, before the first chain is built. Only for the vmctl process, and only when it trusts a
/// given CA alone (never in a process that may need the system's roots).
/// </summary>
internal static partial class SystemTrustStore
{
    private static bool _done;

    /// <summary>Points SSL_CERT_FILE and SSL_CERT_DIR at nothing (once per process).</summary>
    public static void Skip()
    {
        if (_done || !OperatingSystem.IsLinux())
            return;
        _done = true;
        // SAFETY: setenv copies both strings; called on the thread that parses the command line, before this process
        // starts any TLS work or other threads that read the environment from native code.
        _ = SetEnv("SSL_CERT_FILE", "/dev/null", 1);
        _ = SetEnv("SSL_CERT_DIR", "/nonexistent-vmctl-trusts-its-cacert-only", 1);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
