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

    /// <summary>
    /// Entries of a block before it is compiled to IL, for the vCPUs created after it is set: tests
    /// set 1 to run every block compiled, or <see cref="int.MaxValue"/> to run everything interpreted.
    /// </summary>
    internal int JitThreshold { get; init; } = 500;

    /// <summary>Whether hot blocks compile on the thread pool while the vCPU interprets them (tests switch it off to run compiled code at once).</summary>
    internal bool CompileInBackground { get; init; } = true;

    public IVm CreateVm() => new EmulatedVm(this);

    public void Dispose()
    {
    }
}
