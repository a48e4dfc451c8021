using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;

namespace Cluster.Vmm.Kvm;

/// <summary>Completion of an I/O or MMIO exit before the vCPU's state is captured.</summary>
public sealed unsafe partial class KvmVcpu
{
    /// <summary>
    /// After an I/O or MMIO exit KVM finishes the instruction (advances RIP, stores the read value) only on the
    /// next KVM_RUN. Before state is captured, that run is made with kvm_run.immediate_exit set, which completes
    /// the instruction and returns EINTR without entering the guest (the documented use of KVM_CAP_IMMEDIATE_EXIT).
    /// </summary>
    private void CompletePendingExit()
    {
        if (_lastKind is not (VcpuExitKind.IoIn or VcpuExitKind.IoOut or VcpuExitKind.MmioRead or VcpuExitKind.MmioWrite))
            return;
        if (_lastKind is VcpuExitKind.IoIn or VcpuExitKind.IoOut && _ioIndex + 1 < _ioCount)
            throw new VmmException($"vCPU {Id} is in the middle of string I/O (item {_ioIndex + 1} of {_ioCount}); run it to the next exit before saving",
                "save");
        _run->immediate_exit = 1;
        int r = _fd.TryIoctl(KvmIoctls.KVM_RUN, 0, out int errno);
        _run->immediate_exit = 0;
        if (r < 0 && errno is not (KvmNative.EINTR or KvmNative.EAGAIN))
            throw KvmFd.Failure("KVM_RUN", errno, $"completing the pending exit of vCPU {Id}");
        _lastKind = VcpuExitKind.Interrupted;
    }
}
