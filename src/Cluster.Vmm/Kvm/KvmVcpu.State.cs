using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;

namespace Cluster.Vmm.Kvm;

/// <summary>Registers, MSRs and the whole-vCPU state of a KVM vCPU.</summary>
public sealed unsafe partial class KvmVcpu
{
    public Registers GetRegisters()
    {
        kvm_regs r;
        _fd.Ioctl("KVM_GET_REGS", KvmIoctls.KVM_GET_REGS, &r);
        return KvmRegisterConversions.ToRegisters(r);
    }

    public void SetRegisters(in Registers registers)
    {
        var r = KvmRegisterConversions.FromRegisters(registers);
        _fd.Ioctl("KVM_SET_REGS", KvmIoctls.KVM_SET_REGS, &r);
    }

    public SpecialRegisters GetSpecialRegisters()
    {
        kvm_sregs s;
        _fd.Ioctl("KVM_GET_SREGS", KvmIoctls.KVM_GET_SREGS, &s);
        return KvmRegisterConversions.ToSpecialRegisters(s);
    }

    public void SetSpecialRegisters(in SpecialRegisters registers)
    {
        var s = KvmRegisterConversions.FromSpecialRegisters(registers);
        _fd.Ioctl("KVM_SET_SREGS", KvmIoctls.KVM_SET_SREGS, &s);
    }

    public void GetMsrs(Span<MsrEntry> entries)
    {
        var buffer = new byte[sizeof(kvm_msrs) + entries.Length * sizeof(kvm_msr_entry)];
        fixed (byte* p = buffer)
        {
            var list = new Span<kvm_msr_entry>(p + sizeof(kvm_msrs), entries.Length);
            ((kvm_msrs*)p)->nmsrs = (uint)entries.Length;
            for (int i = 0; i < entries.Length; i++) list[i].index = entries[i].Index;
            // SAFETY: the pinned buffer holds the header and the nmsrs entries it announces.
            int n = _fd.Ioctl("KVM_GET_MSRS", KvmIoctls.KVM_GET_MSRS, p);
            if (n < entries.Length)
                throw new VmmException($"vCPU {Id}: MSR 0x{entries[n].Index:x} cannot be read", "KVM_GET_MSRS");
            for (int i = 0; i < entries.Length; i++) entries[i].Data = list[i].data;
        }
    }

    public void SetMsrs(ReadOnlySpan<MsrEntry> entries)
    {
        var buffer = new byte[sizeof(kvm_msrs) + entries.Length * sizeof(kvm_msr_entry)];
        fixed (byte* p = buffer)
        {
            var list = new Span<kvm_msr_entry>(p + sizeof(kvm_msrs), entries.Length);
            ((kvm_msrs*)p)->nmsrs = (uint)entries.Length;
            for (int i = 0; i < entries.Length; i++) list[i] = new kvm_msr_entry { index = entries[i].Index, data = entries[i].Data };
            // SAFETY: the pinned buffer holds the header and the nmsrs entries it announces.
            int n = _fd.Ioctl("KVM_SET_MSRS", KvmIoctls.KVM_SET_MSRS, p);
            if (n < entries.Length)
                throw new VmmException($"vCPU {Id}: MSR 0x{entries[n].Index:x} cannot be set to 0x{entries[n].Data:x}", "KVM_SET_MSRS");
        }
    }

    /// <summary>Completes a pending I/O or MMIO instruction first (see <see cref="CompletePendingExit"/>).</summary>
    public VcpuState SaveState()
    {
        CompletePendingExit();
        var msrs = SupportedMsrs.Select(i => new MsrEntry(i)).ToArray();
        GetMsrs(msrs);
        var state = new VcpuState
        {
            Backend = BackendKind.Kvm,
            Id = Id,
            Registers = GetRegisters(),
            SpecialRegisters = GetSpecialRegisters(),
            Msrs = msrs,
        };
        if (_vm.Kvm.HasXsave)
        {
            kvm_xsave x;
            _fd.Ioctl("KVM_GET_XSAVE", KvmIoctls.KVM_GET_XSAVE, &x);
            state.Blobs["xsave"] = Blob.From(x);
        }
        else
        {
            kvm_fpu f;
            _fd.Ioctl("KVM_GET_FPU", KvmIoctls.KVM_GET_FPU, &f);
            state.Blobs["fpu"] = Blob.From(f);
        }
        if (_vm.Kvm.HasXcrs)
        {
            kvm_xcrs x;
            _fd.Ioctl("KVM_GET_XCRS", KvmIoctls.KVM_GET_XCRS, &x);
            state.Blobs["xcrs"] = Blob.From(x);
        }
        if (_vm.InKernelIrqchip)
        {
            kvm_lapic_state l;
            _fd.Ioctl("KVM_GET_LAPIC", KvmIoctls.KVM_GET_LAPIC, &l);
            state.Blobs["lapic"] = Blob.From(l);
        }
        kvm_mp_state mp;
        _fd.Ioctl("KVM_GET_MP_STATE", KvmIoctls.KVM_GET_MP_STATE, &mp);
        state.Blobs["mp-state"] = Blob.From(mp);
        kvm_vcpu_events ev;
        _fd.Ioctl("KVM_GET_VCPU_EVENTS", KvmIoctls.KVM_GET_VCPU_EVENTS, &ev);
        state.Blobs["vcpu-events"] = Blob.From(ev);
        return state;
    }

    /// <summary>Restores in the order QEMU uses: special registers, registers, FPU, XCRs, MSRs, local APIC, MP state, events.</summary>
    public void RestoreState(VcpuState state)
    {
        if (state.Backend != BackendKind.Kvm)
            throw new VmmException($"a {state.Backend} vCPU state cannot be restored on KVM", "restore");
        SetSpecialRegisters(state.SpecialRegisters);
        SetRegisters(state.Registers);
        if (state.Blobs.ContainsKey("xsave"))
        {
            var x = Blob.To<kvm_xsave>(state, "xsave");
            _fd.Ioctl("KVM_SET_XSAVE", KvmIoctls.KVM_SET_XSAVE, &x);
        }
        else
        {
            var f = Blob.To<kvm_fpu>(state, "fpu");
            _fd.Ioctl("KVM_SET_FPU", KvmIoctls.KVM_SET_FPU, &f);
        }
        if (state.Blobs.ContainsKey("xcrs"))
        {
            var x = Blob.To<kvm_xcrs>(state, "xcrs");
            _fd.Ioctl("KVM_SET_XCRS", KvmIoctls.KVM_SET_XCRS, &x);
        }
        SetMsrs(state.Msrs);
        if (_vm.InKernelIrqchip)
        {
            var l = Blob.To<kvm_lapic_state>(state, "lapic");
            _fd.Ioctl("KVM_SET_LAPIC", KvmIoctls.KVM_SET_LAPIC, &l);
        }
        var mp = Blob.To<kvm_mp_state>(state, "mp-state");
        _fd.Ioctl("KVM_SET_MP_STATE", KvmIoctls.KVM_SET_MP_STATE, &mp);
        var ev = Blob.To<kvm_vcpu_events>(state, "vcpu-events");
        _fd.Ioctl("KVM_SET_VCPU_EVENTS", KvmIoctls.KVM_SET_VCPU_EVENTS, &ev);
    }
}
