using System.Runtime.InteropServices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;
using Cluster.Vmm.Native;
using static Cluster.Vmm.Kvm.Interop.KvmConstants;

namespace Cluster.Vmm.Kvm;

/// <summary>
/// A KVM vCPU fd and its mmapped kvm_run page. <see cref="Run"/> maps KVM_EXIT_* one to one onto
/// <see cref="VcpuExit"/>; string I/O (count &gt; 1) is split into one exit per item before KVM runs again.
/// <see cref="Kick"/> sets kvm_run.immediate_exit and signals the thread in KVM_RUN (see <see cref="KickSignal"/>).
/// </summary>
public sealed unsafe partial class KvmVcpu : IVcpu
{
    private const uint HypervisorPresentBit = 1u << 31;

    private readonly KvmVm _vm;
    private readonly KvmFd _fd;
    private readonly kvm_run* _run;
    private readonly int _runSize;
    private readonly object _kickGate = new();
    private nuint _runningThread;
    private readonly GuestClock _guestClock = new();
    private bool _disposed;

    // The exit being served: its kind, and for string I/O the next item and the item count.
    private VcpuExitKind _lastKind = VcpuExitKind.Interrupted;
    private uint _ioIndex, _ioCount;

    internal KvmVcpu(KvmVm vm, int id)
    {
        _vm = vm;
        Id = id;
        _fd = new KvmFd(vm.Fd.Ioctl("KVM_CREATE_VCPU", KvmIoctls.KVM_CREATE_VCPU, (nuint)id));
        _runSize = vm.Kvm.VcpuMmapSize;
        bool added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            // SAFETY: maps the vCPU fd's kvm_run area, shared with the kernel, of the size KVM_GET_VCPU_MMAP_SIZE gave;
            // it stays mapped until Dispose, after the last KVM_RUN.
            IntPtr p = Libc.mmap(IntPtr.Zero, (nuint)_runSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED,
                (int)_fd.DangerousGetHandle(), 0);
            if (p == Libc.MAP_FAILED)
                throw new VmmException($"mmap of the kvm_run area of vCPU {id} failed (errno {Marshal.GetLastPInvokeError()})", "mmap kvm_run", Marshal.GetLastPInvokeError());
            _run = (kvm_run*)p;
            SetCpuid();
            SupportedMsrs = vm.Kvm.SavedMsrs(this);
        }
        catch
        {
            if (_run != null) Libc.munmap((IntPtr)_run, (nuint)_runSize);
            if (added) _fd.DangerousRelease();
            _fd.Dispose();
            throw;
        }
        if (added) _fd.DangerousRelease();
    }

    public int Id { get; }
    public IReadOnlyList<uint> SupportedMsrs { get; }
    public TimeSpan GuestTime => _guestClock.Elapsed;

    private void SetCpuid()
    {
        var entries = _vm.Kvm.SupportedCpuid;
        var buffer = new byte[sizeof(kvm_cpuid2) + entries.Length * sizeof(kvm_cpuid_entry2)];
        fixed (byte* p = buffer)
        {
            ((kvm_cpuid2*)p)->nent = (uint)entries.Length;
            var table = new Span<kvm_cpuid_entry2>(p + sizeof(kvm_cpuid2), entries.Length);
            entries.CopyTo(table);
            foreach (ref var e in table)
            {
                // The initial APIC id is the vCPU id (leaf 1 EBX[31:24], leaf 0xB EDX). Leaf 1 ECX[31] says "running
                // under a hypervisor", which KVM does not set itself: without it guests never look at KVM's
                // 0x40000000 leaves (kvm-clock, paravirtual features), as QEMU also sets it.
                if (e.function == 1) e.ebx = (e.ebx & 0x00ff_ffffu) | ((uint)Id << 24);
                if (e.function == 1) e.ecx |= HypervisorPresentBit;
                if (e.function == 0xb) e.edx = (uint)Id;
            }
            // SAFETY: the pinned buffer holds the header and nent entries.
            _fd.Ioctl("KVM_SET_CPUID2", KvmIoctls.KVM_SET_CPUID2, p);
        }
    }

    /// <summary>
    /// KVM_SET_MP_STATE(RUNNABLE). With the in-kernel irqchip KVM keeps every vCPU but 0 waiting for INIT/SIPI
    /// (what a Linux guest expects of its APs); the VMM calls this when it starts every vCPU from registers it set.
    /// </summary>
    public void MakeRunnable()
    {
        if (!_vm.InKernelIrqchip) return;
        var mp = new kvm_mp_state { mp_state = KVM_MP_STATE_RUNNABLE };
        _fd.Ioctl("KVM_SET_MP_STATE", KvmIoctls.KVM_SET_MP_STATE, &mp);
    }

    public VcpuExit Run()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_lastKind is VcpuExitKind.IoIn or VcpuExitKind.IoOut && ++_ioIndex < _ioCount)
            return IoItem();

        // A post-copy arrival that lost its source: stop on it (memory is inaccessible by then, see MissingPages.Fail).
        if (_vm.Memory.Missing is { Failure: { } lost }) return Served(VcpuExit.InternalError(lost, 0, null));
        lock (_kickGate) _runningThread = KvmNative.pthread_self();
        _guestClock.Enter();
        int r = _fd.TryIoctl(KvmIoctls.KVM_RUN, 0, out int errno);
        _guestClock.Leave();
        lock (_kickGate) _runningThread = 0;

        if (r < 0)
        {
            if (errno is KvmNative.EINTR or KvmNative.EAGAIN)
            {
                _run->immediate_exit = 0;
                return Served(VcpuExit.Interrupted);
            }
            if (_vm.Memory.Missing is { Failure: { } failed }) return Served(VcpuExit.InternalError(failed, 0, null));
            throw KvmFd.Failure("KVM_RUN", errno, $"vCPU {Id}");
        }
        // Once post-copy has failed, guest memory is inaccessible and whatever the guest did after (a triple
        // fault where the kernel's walk of guest page tables failed) is not the guest's doing.
        if (_vm.Memory.Missing is { Failure: { } gone }) return Served(VcpuExit.InternalError(gone, 0, null));
        return Served(Decode());
    }

    private VcpuExit Served(VcpuExit exit)
    {
        _lastKind = exit.Kind;
        return exit;
    }

    private VcpuExit Decode()
    {
        switch (_run->exit_reason)
        {
            case KVM_EXIT_IO:
                _ioIndex = 0;
                _ioCount = _run->io.count;
                _lastKind = _run->io.direction == KVM_EXIT_IO_OUT ? VcpuExitKind.IoOut : VcpuExitKind.IoIn;
                return IoItem();
            case KVM_EXIT_MMIO:
            {
                var m = &_run->mmio;
                int len = (int)Math.Min(m->len, 8u);
                if (m->is_write == 0) return VcpuExit.MmioRead(m->phys_addr, len);
                ulong data = 0;
                for (int i = 0; i < len; i++) data |= (ulong)m->data[i] << (8 * i);
                return VcpuExit.MmioWrite(m->phys_addr, len, data);
            }
            case KVM_EXIT_HLT:
                return VcpuExit.Hlt;
            case KVM_EXIT_SHUTDOWN:
                return VcpuExit.Shutdown("KVM_EXIT_SHUTDOWN (triple fault or shutdown request)");
            case KVM_EXIT_INTR:
                _run->immediate_exit = 0;
                return VcpuExit.Interrupted;
            case KVM_EXIT_FAIL_ENTRY:
                return VcpuExit.InternalError(
                    $"KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x{_run->fail_entry.hardware_entry_failure_reason:x} on cpu {_run->fail_entry.cpu}",
                    GetRegisters().Rip, null, (uint)_run->fail_entry.hardware_entry_failure_reason);
            case KVM_EXIT_INTERNAL_ERROR:
                return InternalError();
            default:
                return VcpuExit.Unsupported(_run->exit_reason);
        }
    }

    private VcpuExit IoItem()
    {
        var io = &_run->io;
        if (io->direction == KVM_EXIT_IO_IN) return VcpuExit.IoIn(io->port, io->size);
        byte* item = (byte*)_run + io->data_offset + (ulong)_ioIndex * io->size;
        ulong data = io->size switch { 1 => *item, 2 => *(ushort*)item, _ => *(uint*)item };
        return VcpuExit.IoOut(io->port, io->size, data);
    }

    private VcpuExit InternalError()
    {
        var e = &_run->@internal;
        string name = e->suberror switch
        {
            KVM_INTERNAL_ERROR_EMULATION => "instruction emulation failed",
            KVM_INTERNAL_ERROR_SIMUL_EX => "exception while delivering an exception",
            KVM_INTERNAL_ERROR_DELIVERY_EV => "exit while delivering an event",
            KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON => "unexpected exit reason",
            _ => "unknown suberror",
        };
        uint ndata = Math.Min(e->ndata, 16u);
        var data = new List<string>();
        for (int i = 0; i < ndata; i++) data.Add($"0x{e->data[i]:x}");
        byte[]? bytes = null;
        // With KVM_INTERNAL_ERROR_EMULATION and flag bit 0, data[0] is the flags and data[1..2] hold insn_size and 15 bytes.
        if (e->suberror == KVM_INTERNAL_ERROR_EMULATION && ndata >= 3 && (e->data[0] & 1) != 0)
        {
            byte* insn = (byte*)&e->data[1];
            bytes = new ReadOnlySpan<byte>(insn + 1, Math.Min((int)insn[0], 15)).ToArray();
        }
        return VcpuExit.InternalError($"KVM_EXIT_INTERNAL_ERROR suberror {e->suberror} ({name}), data [{string.Join(", ", data)}]",
            GetRegisters().Rip, bytes, e->suberror);
    }

    public void CompleteRead(ulong value)
    {
        switch (_lastKind)
        {
            case VcpuExitKind.IoIn:
            {
                var io = &_run->io;
                byte* item = (byte*)_run + io->data_offset + (ulong)_ioIndex * io->size;
                // SAFETY: data_offset points into the kvm_run mapping, with room for count items of size bytes.
                new ReadOnlySpan<byte>(&value, io->size).CopyTo(new Span<byte>(item, io->size));
                break;
            }
            case VcpuExitKind.MmioRead:
            {
                var m = &_run->mmio;
                // SAFETY: mmio.data is 8 bytes inside the kvm_run mapping; len is at most 8.
                new ReadOnlySpan<byte>(&value, (int)Math.Min(m->len, 8u)).CopyTo(new Span<byte>(m->data, 8));
                break;
            }
            default:
                throw new VmmException($"vCPU {Id}: CompleteRead after a {_lastKind} exit; only IoIn and MmioRead take a value", "complete-read");
        }
    }

    public void Kick()
    {
        lock (_kickGate)
        {
            if (_disposed) return;
            // SAFETY: the kvm_run mapping lives until Dispose, which takes this lock before unmapping.
            Volatile.Write(ref _run->immediate_exit, 1);
            // SAFETY: _runningThread is set only while its thread is between the two locked sections of Run, so it is alive.
            if (_runningThread != 0) KvmNative.pthread_kill(_runningThread, KickSignal.Number);
        }
    }

    /// <summary>Whether KVM_GET_MSRS can read this MSR on this vCPU (the index list names MSRs the CPU may lack).</summary>
    internal bool CanReadMsr(uint index)
    {
        var buffer = stackalloc byte[sizeof(kvm_msrs) + sizeof(kvm_msr_entry)];
        ((kvm_msrs*)buffer)->nmsrs = 1;
        ((kvm_msr_entry*)(buffer + sizeof(kvm_msrs)))->index = index;
        // SAFETY: the stack buffer holds the header and the one entry nmsrs announces.
        return _fd.TryIoctl(KvmIoctls.KVM_GET_MSRS, buffer, out _) == 1;
    }

    public void Dispose()
    {
        lock (_kickGate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _vm.Forget(this);
        // SAFETY: the mapping was created in the constructor; Kick checks _disposed under the lock before touching it.
        Libc.munmap((IntPtr)_run, (nuint)_runSize);
        _fd.Dispose();
    }
}
