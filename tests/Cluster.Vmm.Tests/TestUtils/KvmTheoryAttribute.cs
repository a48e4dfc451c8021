using Cluster.Vmm.Kvm;
using Xunit;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>A theory that needs a working /dev/kvm; skipped with the reason where KVM cannot be opened.</summary>
public sealed class KvmTheoryAttribute : TheoryAttribute
{
    public KvmTheoryAttribute()
    {
        if (KvmAvailability.Unavailable is { } reason) Skip = $"KVM unavailable: {reason}";
    }
}

/// <summary>A fact that needs a working /dev/kvm; skipped with the reason where KVM cannot be opened.</summary>
public sealed class KvmMachineFactAttribute : FactAttribute
{
    public KvmMachineFactAttribute()
    {
        if (KvmAvailability.Unavailable is { } reason) Skip = $"KVM unavailable: {reason}";
    }
}

internal static class KvmAvailability
{
    private static readonly Lazy<string?> Reason = new(() =>
    {
        if (!KvmHypervisor.TryOpen(out var kvm, out var reason)) return reason;
        kvm!.Dispose();
        return null;
    });

    /// <summary>Why KVM cannot be used here, or null when it can.</summary>
    public static string? Unavailable => Reason.Value;
}
