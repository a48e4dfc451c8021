using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;
using static Cluster.Vmm.Kvm.Interop.KvmConstants;

namespace Cluster.Vmm.Kvm;

/// <summary>Completion of an I/O or MMIO exit before the vCPU's state is captured.</summary>
public sealed unsafe partial class KvmVcpu
{
    private const ulong RflagsDf = 1UL << 10;

    /// <summary>
    /// After an I/O or MMIO exit KVM finishes the instruction (advances RIP, stores the read value) only on the
    /// next KVM_RUN. Before state is captured, that run is made with kvm_run.immediate_exit set, which completes
    /// the instruction and returns EINTR without entering the guest (the documented use of KVM_CAP_IMMEDIATE_EXIT).
    /// A vCPU paused between the items of a string I/O exit (KVM hands a rep ins to the VMM as up to a page of
    /// items) has served only some of them: the completion consumes all, so the rest are then given back to the
    /// guest by rewinding the rep instruction (see <see cref="RewindStringIo"/>).
    /// </summary>
    private void CompletePendingExit()
    {
        if (_lastKind is not (VcpuExitKind.IoIn or VcpuExitKind.IoOut or VcpuExitKind.MmioRead or VcpuExitKind.MmioWrite))
            return;
        bool stringIo = _lastKind is VcpuExitKind.IoIn or VcpuExitKind.IoOut;
        uint unserved = stringIo && _ioIndex + 1 < _ioCount ? _ioCount - _ioIndex - 1 : 0;
        var io = _run->io;
        var atExit = unserved > 0 ? GetRegisters() : default;
        _run->immediate_exit = 1;
        int r = _fd.TryIoctl(KvmIoctls.KVM_RUN, 0, out int errno);
        _run->immediate_exit = 0;
        if (r < 0 && errno is not (KvmNative.EINTR or KvmNative.EAGAIN))
            throw KvmFd.Failure("KVM_RUN", errno, $"completing the pending exit of vCPU {Id}");
        _lastKind = VcpuExitKind.Interrupted;
        if (unserved > 0) RewindStringIo(atExit, io.direction == KVM_EXIT_IO_IN, io.size, unserved);
    }

    /// <summary>
    /// Gives the last <paramref name="unserved"/> items of a completed rep ins/outs back to the guest: RCX grows by
    /// them, RDI (ins) or RSI (outs) steps back over them (forward when RFLAGS.DF is set), and RIP returns to the
    /// instruction (KVM leaves RIP on a rep string instruction until it ends). The guest then repeats those items
    /// through the device; the bytes KVM stored for them meanwhile are overwritten then.
    /// </summary>
    private void RewindStringIo(in Registers atExit, bool input, byte size, uint unserved)
    {
        var regs = GetRegisters();
        ulong bytes = (ulong)unserved * size;
        bool down = (regs.Rflags & RflagsDf) != 0;
        regs.Rcx += unserved;
        if (input) regs.Rdi = down ? regs.Rdi + bytes : regs.Rdi - bytes;
        else regs.Rsi = down ? regs.Rsi + bytes : regs.Rsi - bytes;
        regs.Rip = atExit.Rip;
        SetRegisters(regs);
    }
}
