using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

/// <summary>A fact that needs to create tap interfaces: root and /dev/net/tun; skipped with the reason otherwise.</summary>
public sealed class NetFactAttribute : FactAttribute
{
    public NetFactAttribute()
    {
        if (NetAvailability.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A theory that needs to create tap interfaces; skipped with the reason otherwise.</summary>
public sealed class NetTheoryAttribute : TheoryAttribute
{
    public NetTheoryAttribute()
    {
        if (NetAvailability.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A fact that needs tap interfaces and a working /dev/kvm; skipped with the reason otherwise.</summary>
public sealed class NetKvmFactAttribute : FactAttribute
{
    public NetKvmFactAttribute()
    {
        if (NetAvailability.Unavailable is { } reason) Skip = reason;
        else if (TestUtils.KvmAvailability.Unavailable is { } kvm) Skip = $"KVM unavailable: {kvm}";
    }
}

internal static class NetAvailability
{
    /// <summary>Why taps cannot be made here, or null.</summary>
    public static string? Unavailable =>
        !IsRoot() ? "not root: creating a tap interface needs CAP_NET_ADMIN"
        : !File.Exists("/dev/net/tun") ? "no /dev/net/tun"
        : !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip") ? "no ip(8) to bring a tap up"
        : null;

    private static bool IsRoot() => File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1] == "0";
}
