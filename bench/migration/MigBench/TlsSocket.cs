using System.Net.Sockets;
using Cluster.Vmm.Migration;

namespace MigBench;

/// <summary>
/// The encrypted stream's own ceiling: the same 64 KiB writes as <see cref="RawSocket"/>, through a bare SslStream with
/// the migration's TLS (TLS 1.3, AES-128-GCM, the one-time certificate of <see cref="MigrationIdentity"/>, the pin checked)
/// and nothing else: no frames, no pages. What the encrypted page stream gets against this is what the migration
/// protocol costs; what this gets against the raw socket is what TLS in .NET costs on this machine.
/// </summary>
internal static class TlsSocket
{
    /// <summary>Sends <paramref name="total"/> bytes through TLS over loopback; MiB per second.</summary>
    public static double Measure(long total)
    {
        using var identity = MigrationIdentity.Create(encrypted: true);
        return Loopback.Measure(total,
            s => MigrationChannel.AcceptAsync(new NetworkStream(s, ownsSocket: false), identity, MigrationChannel.ServerContext(identity),
                TimeSpan.FromSeconds(30), CancellationToken.None).GetAwaiter().GetResult(),
            c => MigrationChannel.Connect(new NetworkStream(c, ownsSocket: false), identity.Credentials));
    }
}
