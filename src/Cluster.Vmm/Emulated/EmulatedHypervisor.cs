using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>The software x86-64 backend: the stand-in for /dev/kvm where it is absent.</summary>
public sealed class EmulatedHypervisor : IHypervisor
{
    public BackendKind Kind => BackendKind.Emulated;
    public string Name => "emulated";
    public int MaxVcpus => 64;
    public int MaxMemorySlots => 32;
    public CpuModel CpuModel { get; } = new(EmulatedCpuid.Vendor, EmulatedCpuid.Features);

    public IVm CreateVm() => new EmulatedVm(this);

    public void Dispose()
    {
    }
}
