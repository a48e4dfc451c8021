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

/// <summary>
/// A fact that needs /dev/kvm backed by hardware virtualisation (kvm_intel or kvm_amd). Skipped on PVM
/// (kvm_pvm: KVM without VMX/SVM, running guests by software nesting), which emulates a stock kernel's early boot
/// far too slowly and cannot emulate some instructions (INT3 delivery through an empty IDT ends in an internal error).
/// </summary>
public sealed class KvmHardwareFactAttribute : FactAttribute
{
    public KvmHardwareFactAttribute()
    {
        Skip = new KvmFactAttribute().Skip ?? KvmFlavor.NotHardwareReason;
    }
}

/// <summary>Which kernel module provides /dev/kvm, from /sys/module.</summary>
internal static class KvmFlavor
{
    /// <summary>Null where /dev/kvm is hardware KVM; otherwise why the hardware-only tests are skipped.</summary>
    public static string? NotHardwareReason =>
        Directory.Exists("/sys/module/kvm_pvm") && !Directory.Exists("/sys/module/kvm_intel") && !Directory.Exists("/sys/module/kvm_amd")
            ? "/dev/kvm is PVM (kvm_pvm, no VMX/SVM); run tests/kvm/run-nested for hardware KVM"
            : null;
}
