using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>A VM of scripted vCPUs over real guest memory, recording interrupt line changes.</summary>
internal sealed class FakeVm(FakeHypervisor hypervisor) : IVm
{
    private readonly List<IVcpu> _vcpus = [];

    public IHypervisor Hypervisor { get; } = hypervisor;
    public GuestMemory Memory { get; } = new();
    public List<(int Irq, bool Level)> IrqChanges { get; } = [];
    public VmState? Restored;
    public bool Disposed;

    public void SetUserMemoryRegion(int slot, ulong guestPhysAddr, HostMemory? memory, MemoryRegionFlags flags) =>
        Memory.SetRegion(slot, guestPhysAddr, memory, flags, Hypervisor.MaxMemorySlots);

    public DirtyBitmap GetDirtyLog(int slot) => Memory.GetSlot(slot).Dirty.TakeAndClear();

    public IVcpu CreateVcpu(int id)
    {
        var v = new FakeVcpu(id);
        _vcpus.Add(v);
        return v;
    }

    public IReadOnlyList<IVcpu> Vcpus => _vcpus;

    public void SetIrqLine(int irq, bool level)
    {
        lock (IrqChanges) IrqChanges.Add((irq, level));
    }

    public int InterruptLines => 16;

    public bool SupportsMsi => Msis is not null;

    /// <summary>Set to a list to make the VM deliver MSIs (recorded here).</summary>
    public List<(ulong Address, uint Data)>? Msis { get; set; }

    public void SignalMsi(ulong address, uint data)
    {
        if (Msis is null) throw new VmmException("no MSIs on this fake", "KVM_SIGNAL_MSI");
        lock (Msis) Msis.Add((address, data));
    }

    public VmState SaveState() => new() { Backend = BackendKind.Emulated, Blobs = { ["pic"] = [1, 2, 3] } };

    public void RestoreState(VmState state) => Restored = state;

    public void Dispose() => Disposed = true;
}

/// <summary>A hypervisor whose VMs are <see cref="FakeVm"/>s; reports itself as the emulated kind.</summary>
internal sealed class FakeHypervisor : IHypervisor
{
    public List<FakeVm> Vms { get; } = [];
    public BackendKind Kind => BackendKind.Emulated;
    public string Name => "fake";
    public int MaxVcpus => 8;
    public int MaxMemorySlots => 8;
    public CpuModel CpuModel { get; } = new("FakeVendor", []);

    public IVm CreateVm()
    {
        var vm = new FakeVm(this);
        Vms.Add(vm);
        return vm;
    }

    public void Dispose() { }
}
