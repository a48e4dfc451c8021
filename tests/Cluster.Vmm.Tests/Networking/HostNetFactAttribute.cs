using Cluster.Vmm.Networking;
using Xunit;

namespace Cluster.Vmm.Tests.Networking;

/// <summary>A fact that builds host networks in network namespaces: needs root, iproute2, nftables, dnsmasq and busybox.</summary>
public sealed class HostNetFactAttribute : FactAttribute
{
    public HostNetFactAttribute()
    {
        if (Environment.UserName != "root")
            Skip = $"needs root to create network namespaces (runs as {Environment.UserName})";
        else if (HostNetwork.MissingTools(NetworkMode.Overlay) is { Count: > 0 } missing)
            Skip = $"needs {string.Join(", ", missing)} (apt-get install iproute2 nftables dnsmasq-base)";
        else if (!File.Exists("/bin/busybox"))
            Skip = "needs /bin/busybox (apt-get install busybox-static) for the guests' DHCP client";
    }
}
