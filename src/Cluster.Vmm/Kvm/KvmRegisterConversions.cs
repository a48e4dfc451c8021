using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;

namespace Cluster.Vmm.Kvm;

/// <summary>Field-by-field conversions between the VMM's register types and the kernel's structs.</summary>
internal static class KvmRegisterConversions
{
    public static Registers ToRegisters(in kvm_regs r) => new()
    {
        Rax = r.rax, Rbx = r.rbx, Rcx = r.rcx, Rdx = r.rdx, Rsi = r.rsi, Rdi = r.rdi, Rsp = r.rsp, Rbp = r.rbp,
        R8 = r.r8, R9 = r.r9, R10 = r.r10, R11 = r.r11, R12 = r.r12, R13 = r.r13, R14 = r.r14, R15 = r.r15,
        Rip = r.rip, Rflags = r.rflags,
    };

    public static kvm_regs FromRegisters(in Registers r) => new()
    {
        rax = r.Rax, rbx = r.Rbx, rcx = r.Rcx, rdx = r.Rdx, rsi = r.Rsi, rdi = r.Rdi, rsp = r.Rsp, rbp = r.Rbp,
        r8 = r.R8, r9 = r.R9, r10 = r.R10, r11 = r.R11, r12 = r.R12, r13 = r.R13, r14 = r.R14, r15 = r.R15,
        rip = r.Rip, rflags = r.Rflags,
    };

    public static Segment ToSegment(in kvm_segment s) => new()
    {
        Base = s.@base, Limit = s.limit, Selector = s.selector, Type = s.type, Present = s.present != 0, Dpl = s.dpl,
        Db = s.db != 0, S = s.s != 0, L = s.l != 0, G = s.g != 0, Avl = s.avl != 0, Unusable = s.unusable != 0,
    };

    public static kvm_segment FromSegment(in Segment s) => new()
    {
        @base = s.Base, limit = s.Limit, selector = s.Selector, type = s.Type, present = B(s.Present), dpl = s.Dpl,
        db = B(s.Db), s = B(s.S), l = B(s.L), g = B(s.G), avl = B(s.Avl), unusable = B(s.Unusable),
    };

    public static SpecialRegisters ToSpecialRegisters(in kvm_sregs s) => new()
    {
        Cs = ToSegment(s.cs), Ds = ToSegment(s.ds), Es = ToSegment(s.es), Fs = ToSegment(s.fs), Gs = ToSegment(s.gs),
        Ss = ToSegment(s.ss), Tr = ToSegment(s.tr), Ldt = ToSegment(s.ldt),
        Gdt = new DescriptorTable { Base = s.gdt.@base, Limit = s.gdt.limit },
        Idt = new DescriptorTable { Base = s.idt.@base, Limit = s.idt.limit },
        Cr0 = s.cr0, Cr2 = s.cr2, Cr3 = s.cr3, Cr4 = s.cr4, Cr8 = s.cr8, Efer = s.efer, ApicBase = s.apic_base,
    };

    public static kvm_sregs FromSpecialRegisters(in SpecialRegisters s) => new()
    {
        cs = FromSegment(s.Cs), ds = FromSegment(s.Ds), es = FromSegment(s.Es), fs = FromSegment(s.Fs), gs = FromSegment(s.Gs),
        ss = FromSegment(s.Ss), tr = FromSegment(s.Tr), ldt = FromSegment(s.Ldt),
        gdt = new kvm_dtable { @base = s.Gdt.Base, limit = s.Gdt.Limit },
        idt = new kvm_dtable { @base = s.Idt.Base, limit = s.Idt.Limit },
        cr0 = s.Cr0, cr2 = s.Cr2, cr3 = s.Cr3, cr4 = s.Cr4, cr8 = s.Cr8, efer = s.Efer, apic_base = s.ApicBase,
    };

    private static byte B(bool v) => v ? (byte)1 : (byte)0;
}
