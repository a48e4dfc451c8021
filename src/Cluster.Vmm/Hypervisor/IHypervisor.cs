namespace Cluster.Vmm.Hypervisor;

/// <summary>The system level of the KVM API (the /dev/kvm fd): capabilities and VM creation.</summary>
public interface IHypervisor : IDisposable
{
    BackendKind Kind { get; }

    /// <summary>A human-readable name ("kvm", "emulated").</summary>
    string Name { get; }

    /// <summary>The largest vCPU count of one VM.</summary>
    int MaxVcpus { get; }

    /// <summary>The number of memory slots of one VM.</summary>
    int MaxMemorySlots { get; }

    /// <summary>Vendor string and feature names that CPUID reports to guests (for migration compatibility checks).</summary>
    CpuModel CpuModel { get; }

    IVm CreateVm();
}

/// <summary>The CPU that guests see: vendor and the CPUID feature names offered.</summary>
public sealed record CpuModel(string Vendor, IReadOnlyList<string> Features);
