using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Emulated.Irqchip;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Emulated;

/// <summary>
/// A VM of the software backend: guest memory, vCPUs, and the in-kernel PIC pair and PIT whose
/// ports never exit (as with KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2).
/// </summary>
public sealed class EmulatedVm : IVm, IGuestWriteObserver
{
    private readonly EmulatedHypervisor _hypervisor;
    private readonly object _vcpuGate = new();
    private readonly object _waitGate = new();
    private volatile EmulatedVcpu[] _vcpus = [];
    private volatile PhysRegion[] _regions = [];
    private readonly DualPic _pic = new();
    private readonly Pit8254 _pit;
    private int _memoryGeneration;

    internal EmulatedVm(EmulatedHypervisor hypervisor)
    {
        _hypervisor = hypervisor;
        Memory.AddObserver(this);
        _pit = new Pit8254(SetIrqLine);
        _pic.OutputChanged += WakeAll;
    }

    public IHypervisor Hypervisor => _hypervisor;
    public GuestMemory Memory { get; } = new();
    public IReadOnlyList<IVcpu> Vcpus => _vcpus;

    /// <summary>Serialises the LOCK-prefixed instructions that cannot run as one host-atomic operation (split operands, CMPXCHG16B, MMIO).</summary>
    internal object AtomicGate { get; } = new();

    /// <summary>Changes whenever the slots change; vCPUs then drop their translations.</summary>
    internal int MemoryGeneration => Volatile.Read(ref _memoryGeneration);

    internal bool InterruptPending => _pic.Output;

    public void SetUserMemoryRegion(int slot, ulong guestPhysAddr, HostMemory? memory, MemoryRegionFlags flags)
    {
        Memory.SetRegion(slot, guestPhysAddr, memory, flags, _hypervisor.MaxMemorySlots);
        _regions = [.. Memory.Slots.Select(s => new PhysRegion(s))];
        Interlocked.Increment(ref _memoryGeneration);
    }

    public DirtyBitmap GetDirtyLog(int slot) => Memory.GetSlot(slot).Dirty.TakeAndClear();

    public IVcpu CreateVcpu(int id)
    {
        if (id < 0 || id >= _hypervisor.MaxVcpus)
            throw new VmmException($"vCPU id {id} is out of range 0..{_hypervisor.MaxVcpus - 1}", "KVM_CREATE_VCPU");
        lock (_vcpuGate)
        {
            if (_vcpus.Any(v => v.Id == id)) throw new VmmException($"vCPU {id} already exists", "KVM_CREATE_VCPU");
            var v = new EmulatedVcpu(this, id, _hypervisor.MaxCodePages)
            {
                JitThreshold = _hypervisor.JitThreshold,
                CompileInBackground = _hypervisor.CompileInBackground,
            };
            _vcpus = [.. _vcpus, v];
            return v;
        }
    }

    public void SetIrqLine(int irq, bool level)
    {
        if (irq < 0 || irq > 15) throw new VmmException($"IRQ line {irq} is out of range 0..15", "KVM_IRQ_LINE");
        _pic.SetIrq(irq, level);
        WakeAll();
    }

    /// <inheritdoc />
    public int InterruptLines => 16;

    /// <inheritdoc />
    public bool SupportsMsi => false;

    /// <inheritdoc />
    public void SignalMsi(ulong address, uint data) =>
        throw new VmmException("the emulated backend has no local APIC: message-signalled interrupts are not delivered", "KVM_SIGNAL_MSI");

    internal PhysRegion? FindRegion(ulong gpa)
    {
        foreach (var r in _regions)
            if (r.Contains(gpa)) return r;
        return null;
    }

    /// <summary>
    /// The region of <paramref name="gpa"/> as a vCPU is about to map or read the page (a TLB fill, a
    /// page walk, an instruction fetch): the page-access path. While a post-copy migration brings pages
    /// (<see cref="GuestMemory.Missing"/>), a missing page is fetched first and the vCPU blocks until it
    /// is here; with no post-copy running the cost is one null test, on TLB misses only.
    /// </summary>
    /// <exception cref="VmmException">post-copy failed before the page came.</exception>
    internal PhysRegion? ResolveRegion(ulong gpa)
    {
        var r = FindRegion(gpa);
        if (r is not null && Memory.Missing is { } missing) missing.EnsurePresent(gpa);
        return r;
    }

    /// <summary>Drops decoded code of a written page in every vCPU.</summary>
    internal void InvalidateCode(ulong gpa)
    {
        foreach (var v in _vcpus) v.InvalidateCodePage(gpa >> 12);
    }

    void IGuestWriteObserver.OnGuestWrite(ulong gpa, ulong length)
    {
        if (length == 0) return;
        for (ulong p = gpa >> 12; p <= (gpa + length - 1) >> 12; p++)
        {
            var r = FindRegion(p << 12);
            if (r is not null && r.ClearCode(p - (r.Gpa >> 12))) InvalidateCode(p << 12);
        }
    }

    internal bool TryPortIn(ushort port, int size, out ulong value)
    {
        _ = size;
        if (DualPic.Handles(port)) value = _pic.Read(port);
        else if (Pit8254.Handles(port)) value = _pit.Read(port);
        else
        {
            value = 0;
            return false;
        }
        return true;
    }

    internal bool TryPortOut(ushort port, int size, ulong value)
    {
        _ = size;
        if (DualPic.Handles(port)) _pic.Write(port, (byte)value);
        else if (Pit8254.Handles(port)) _pit.Write(port, (byte)value);
        else return false;
        return true;
    }

    internal void PollTimers() => _pit.Poll();

    internal int AcknowledgeInterrupt() => _pic.Acknowledge();

    /// <summary>Blocks a halted vCPU until an interrupt, a Kick or the next timer tick.</summary>
    internal void WaitForEvent(EmulatedVcpu vcpu)
    {
        _pit.Poll();
        if (vcpu.Id == 0 && _pic.Output) return;
        var timeout = _pit.TimeToNextIrq() ?? TimeSpan.FromMilliseconds(50);
        if (timeout > TimeSpan.FromMilliseconds(50)) timeout = TimeSpan.FromMilliseconds(50);
        lock (_waitGate)
        {
            if (vcpu.IsKicked || (vcpu.Id == 0 && _pic.Output)) return;
            Monitor.Wait(_waitGate, timeout);
        }
        _pit.Poll();
    }

    internal void WakeAll()
    {
        lock (_waitGate) Monitor.PulseAll(_waitGate);
    }

    public VmState SaveState() => new()
    {
        Backend = BackendKind.Emulated,
        Blobs = { ["pic"] = _pic.Save(), ["pit"] = _pit.Save() },
    };

    public void RestoreState(VmState state)
    {
        if (state.Backend != BackendKind.Emulated) throw new VmmException($"a {state.Backend} VM state cannot be loaded into an emulated VM", "restore");
        if (!state.Blobs.TryGetValue("pic", out var pic) || !state.Blobs.TryGetValue("pit", out var pit))
            throw new VmmException("VM state lacks the pic or pit blob", "restore");
        _pic.Load(pic);
        _pit.Load(pit);
    }

    public void Dispose()
    {
        foreach (var v in _vcpus) v.Dispose();
    }
}
