using Cluster.Vmm.Networking;

namespace Cluster.Actors.Tests.TestUtils;

/// <summary>A fact that sets up host networks in a network namespace: needs root, iproute2, nftables and dnsmasq; skipped with the reason elsewhere.</summary>
public sealed class HostNetFactAttribute : FactAttribute
{
    public HostNetFactAttribute()
    {
        if (Environment.UserName != "root")
            Skip = $"needs root to create network namespaces (runs as {Environment.UserName})";
        else if (HostNetwork.MissingTools(NetworkMode.Nat) is { Count: > 0 } missing)
            Skip = $"needs {string.Join(", ", missing)} (apt-get install iproute2 nftables dnsmasq-base)";
    }
}
