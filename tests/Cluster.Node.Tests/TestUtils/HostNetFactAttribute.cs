using Cluster.Vmm.Native;
using Cluster.Vmm.Networking;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>A fact whose node sets up host networks in a network namespace: needs root, iproute2, nftables and dnsmasq; skipped with the reason elsewhere.</summary>
public sealed class HostNetFactAttribute : FactAttribute
{
    public HostNetFactAttribute()
    {
        if (UserSwitch.EffectiveUid != 0)
            Skip = $"needs root to create network namespaces and host networks (this test runs as uid {UserSwitch.EffectiveUid})";
        else if (HostNetwork.MissingTools(NetworkMode.Nat) is { Count: > 0 } missing)
            Skip = $"needs {string.Join(", ", missing)} (apt-get install iproute2 nftables dnsmasq-base)";
    }
}
