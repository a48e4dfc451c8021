using Cluster.Vmm.Kvm;
using Xunit;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>
/// A fact that needs a working /dev/kvm: where <see cref="KvmHypervisor.TryOpen"/> fails, the test is reported
/// as skipped with the reason found at run time (no /dev/kvm, wrong API version, a missing capability).
/// </summary>
public sealed class KvmFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!KvmHypervisor.TryOpen(out var kvm, out var reason)) return reason;
        kvm!.Dispose();
        return null;
    });

    public KvmFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = $"KVM unavailable: {reason}";
    }
}
