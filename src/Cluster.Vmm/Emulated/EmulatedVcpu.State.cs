using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>Register access and whole-state capture of the vCPU.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    internal bool IsKicked => _kicked;

    public Registers GetRegisters() => new()
    {
        Rax = _r[0], Rcx = _r[1], Rdx = _r[2], Rbx = _r[3], Rsp = _r[4], Rbp = _r[5], Rsi = _r[6], Rdi = _r[7],
        R8 = _r[8], R9 = _r[9], R10 = _r[10], R11 = _r[11], R12 = _r[12], R13 = _r[13], R14 = _r[14], R15 = _r[15],
        Rip = _rip,
        Rflags = GetFlags(),
    };

    public void SetRegisters(in Registers v)
    {
        _r[0] = v.Rax; _r[1] = v.Rcx; _r[2] = v.Rdx; _r[3] = v.Rbx; _r[4] = v.Rsp; _r[5] = v.Rbp; _r[6] = v.Rsi; _r[7] = v.Rdi;
        _r[8] = v.R8; _r[9] = v.R9; _r[10] = v.R10; _r[11] = v.R11; _r[12] = v.R12; _r[13] = v.R13; _r[14] = v.R14; _r[15] = v.R15;
        _rip = v.Rip;
        SetFlags(v.Rflags);
        _halted = false;
    }

    public SpecialRegisters GetSpecialRegisters() => new()
    {
        Es = _seg[ES], Cs = _seg[CS], Ss = _seg[SS], Ds = _seg[DS], Fs = _seg[FS], Gs = _seg[GS],
        Tr = _tr, Ldt = _ldt, Gdt = _gdt, Idt = _idt,
        Cr0 = _cr0, Cr2 = _cr2, Cr3 = _cr3, Cr4 = _cr4, Cr8 = _cr8, Efer = _efer, ApicBase = _apicBase,
    };

    public void SetSpecialRegisters(in SpecialRegisters v)
    {
        _seg[ES] = v.Es; _seg[CS] = v.Cs; _seg[SS] = v.Ss; _seg[DS] = v.Ds; _seg[FS] = v.Fs; _seg[GS] = v.Gs;
        _tr = v.Tr; _ldt = v.Ldt; _gdt = v.Gdt; _idt = v.Idt;
        _cr0 = v.Cr0; _cr2 = v.Cr2; _cr3 = v.Cr3; _cr4 = v.Cr4; _cr8 = v.Cr8; _efer = v.Efer; _apicBase = v.ApicBase;
        FlushTlb(all: true);
        UpdateMode();
    }

    public void GetMsrs(Span<MsrEntry> entries)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            if (!TryReadMsr(entries[i].Index, out ulong v)) throw new VmmException($"MSR 0x{entries[i].Index:x} is not supported", "KVM_GET_MSRS");
            entries[i].Data = v;
        }
    }

    public void SetMsrs(ReadOnlySpan<MsrEntry> entries)
    {
        foreach (var e in entries)
        {
            if (e.Index == Msr.Efer)
            {
                // The VMM sets EFER whole, LMA included (as KVM_SET_SREGS/KVM_SET_MSRS allow).
                _efer = e.Data & (CpuBits.EferSce | CpuBits.EferLme | CpuBits.EferLma | CpuBits.EferNxe);
                FlushTlb(all: true);
                UpdateMode();
            }
            else if (!TryWriteMsr(e.Index, e.Data)) throw new VmmException($"MSR 0x{e.Index:x} is not supported", "KVM_SET_MSRS");
        }
    }

    public VcpuState SaveState()
    {
        var msrs = MsrList.Select(i => new MsrEntry(i)).ToArray();
        GetMsrs(msrs);
        var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write(_halted);
            w.Write(_shadow);
            SaveReads(w);
            foreach (var d in _dr) w.Write(d);
            w.Write(_retired);
        }
        return new VcpuState
        {
            Backend = BackendKind.Emulated,
            Id = Id,
            Registers = GetRegisters(),
            SpecialRegisters = GetSpecialRegisters(),
            Msrs = msrs,
            Blobs = { ["emulated-cpu"] = ms.ToArray() },
        };
    }

    public void RestoreState(VcpuState state)
    {
        if (state.Backend != BackendKind.Emulated) throw new VmmException($"a {state.Backend} vCPU state cannot be loaded into an emulated vCPU", "restore");
        if (!state.Blobs.TryGetValue("emulated-cpu", out var blob)) throw new VmmException("vCPU state lacks the emulated-cpu blob", "restore");
        SetSpecialRegisters(state.SpecialRegisters);
        SetMsrs(state.Msrs);
        SetRegisters(state.Registers);
        using var r = new BinaryReader(new MemoryStream(blob));
        _halted = r.ReadBoolean();
        _shadow = r.ReadBoolean();
        LoadReads(r);
        for (int i = 0; i < _dr.Length; i++) _dr[i] = r.ReadUInt64();
        _retired = r.ReadInt64();
        UpdateMode();
    }
}
