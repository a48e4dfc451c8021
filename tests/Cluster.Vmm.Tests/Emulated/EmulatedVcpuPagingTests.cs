using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>4-level paging: page sizes, accessed/dirty bits, #PF error codes and CR2, NX, U/S, R/W with CR0.WP, TLB flushes.</summary>
public sealed class EmulatedVcpuPagingTests
{
    private const ulong Pd2 = 0x20000, Pt = 0x21000;
    private const ulong Lin4K = 0x4000_0000, Lin1G = 0x8000_0000;

    /// <summary>Linear 1 GiB..1 GiB+2 MiB by 4 KiB pages (PT entries given), 2 GiB..3 GiB as one 1 GiB page onto physical 0.</summary>
    private static void MapTestPages(EmuTestMachine m, params (int Index, ulong Entry)[] ptes)
    {
        var mem = m.Vm.Memory;
        mem.WriteU64(EmuTestMachine.Pdpt + 8, Pd2 | 7);
        mem.WriteU64(Pd2, Pt | 7);
        foreach (var (i, e) in ptes) mem.WriteU64(Pt + (ulong)i * 8, e);
        mem.WriteU64(EmuTestMachine.Pdpt + 16, 0x87);
    }

    [Fact]
    public void Four_kilobyte_two_megabyte_and_one_gigabyte_pages_translate()
    {
        using var m = new EmuTestMachine();
        MapTestPages(m, (0, 0x200000 | 3), (1, 0x300000 | 3));
        m.Vm.Memory.WriteU64(0x300010, 0xABCD);
        m.LoadCode(a =>
        {
            a.mov(rax, Lin4K);
            a.mov(__qword_ptr[rax + 8], 0x1234);
            a.mov(rbx, __qword_ptr[rax + 0x1010]);
            a.mov(rcx, Lin1G + 0x400000);
            a.mov(__qword_ptr[rcx], 0x777);
            a.mov(rdx, 0x600000);
            a.mov(rdx, __qword_ptr[rdx]);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(0x1234UL, m.Vm.Memory.ReadU64(0x200008));
        Assert.Equal(0xABCDUL, m.Regs.Rbx);
        Assert.Equal(0x777UL, m.Vm.Memory.ReadU64(0x400000));
        Assert.Equal(0UL, m.Regs.Rdx);
    }

    [Fact]
    public void Accessed_and_dirty_bits_are_set_by_reads_and_writes()
    {
        using var m = new EmuTestMachine();
        MapTestPages(m, (0, 0x200000 | 3), (1, 0x201000 | 3), (2, 0x202000 | 3));
        m.LoadCode(a =>
        {
            a.mov(rax, Lin4K);
            a.mov(__dword_ptr[rax], 1);
            a.mov(ebx, __dword_ptr[rax + 0x1000]);
            a.hlt();
        });
        m.Run();
        var mem = m.Vm.Memory;
        Assert.Equal(0x60UL, mem.ReadU64(Pt) & 0x60);
        Assert.Equal(0x20UL, mem.ReadU64(Pt + 8) & 0x60);
        Assert.Equal(0UL, mem.ReadU64(Pt + 16) & 0x60);
        Assert.Equal(0x20UL, mem.ReadU64(Pd2) & 0x20);
        Assert.Equal(0x20UL, mem.ReadU64(EmuTestMachine.Pdpt + 8) & 0x20);
    }

    [Fact]
    public void Page_faults_deliver_error_code_and_CR2()
    {
        using var m = new EmuTestMachine();
        EmulatedVcpuExceptionTests.InstallRecordingHandlers(m, 14);
        MapTestPages(m, (0, 0x200000 | 3), (2, 0x202000 | 1), (4, 0x204000 | 3 | (1UL << 63)));

        m.LoadCode(a =>
        {
            a.mov(rax, Lin4K + 0x1008);
            a.mov(__qword_ptr[rax], 5);
            a.hlt();
        });
        m.Run();
        Assert.Equal((14UL, 2UL, Lin4K + 0x1008), (m.Regs.R15, m.Regs.R14, m.Regs.R13));

        m.LoadCode(a =>
        {
            a.mov(rax, Lin4K + 0x2000);
            a.mov(ebx, __dword_ptr[rax]);
            a.mov(__dword_ptr[rax], ebx);
            a.hlt();
        });
        m.Run();
        Assert.Equal((14UL, 3UL, Lin4K + 0x2000), (m.Regs.R15, m.Regs.R14, m.Regs.R13));

        m.LoadCode(a =>
        {
            a.mov(rax, Lin4K + 0x4000);
            a.jmp(rax);
        });
        m.Run();
        Assert.Equal((14UL, 0x11UL, Lin4K + 0x4000), (m.Regs.R15, m.Regs.R14, m.Regs.R13));
    }

    [Fact]
    public void Supervisor_writes_to_read_only_pages_succeed_only_without_CR0_WP()
    {
        using var m = new EmuTestMachine();
        EmulatedVcpuExceptionTests.InstallRecordingHandlers(m, 14);
        MapTestPages(m, (2, 0x202000 | 1));
        m.LoadCode(a =>
        {
            a.mov(rax, cr0);
            a.and(eax, ~(1 << 16));
            a.mov(cr0, rax);
            a.mov(rbx, Lin4K + 0x2000);
            a.mov(__dword_ptr[rbx], 0x55);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(0UL, m.Regs.R15);
        Assert.Equal(0x55U, m.Vm.Memory.ReadU32(0x202000));
    }

    [Fact]
    public void User_mode_access_to_a_supervisor_page_faults_with_the_user_bit()
    {
        using var m = new EmuTestMachine();
        EmulatedVcpuExceptionTests.InstallRecordingHandlers(m, 14);
        MapTestPages(m, (3, 0x203000 | 3));
        m.Vm.Memory.WriteU64(EmuTestMachine.Tss + 4, 0x70000);
        ulong user = EmuTestMachine.Code + 0x800;
        m.Load(user, a =>
        {
            a.mov(rax, Lin4K + 0x3000);
            a.mov(rbx, __qword_ptr[rax]);
            a.hlt();
        });
        m.LoadCode(a =>
        {
            a.push(0x23);
            a.push(0x60000);
            a.push(0x2);
            a.push(0x2b);
            a.mov(rax, user);
            a.push(rax);
            a.iretq();
        });
        m.Run();
        var r = m.Regs;
        Assert.Equal((14UL, 5UL, Lin4K + 0x3000), (r.R15, r.R14, r.R13));
        Assert.Equal(user + 10, r.R12);
        Assert.Equal(0x70000UL - 48, r.Rsp);
    }

    [Fact]
    public void Changed_page_tables_take_effect_after_invlpg_and_cr3_reload()
    {
        using var m = new EmuTestMachine();
        MapTestPages(m, (0, 0x200000 | 3));
        m.Vm.Memory.WriteU64(0x200000, 1);
        m.Vm.Memory.WriteU64(0x210000, 2);
        m.Vm.Memory.WriteU64(0x220000, 3);
        m.LoadCode(a =>
        {
            a.mov(rsi, Lin4K);
            a.mov(rax, __qword_ptr[rsi]);
            a.mov(rdi, Pt);
            a.mov(__qword_ptr[rdi], 0x210003);
            a.invlpg(__[rsi]);
            a.mov(rbx, __qword_ptr[rsi]);
            a.mov(__qword_ptr[rdi], 0x220003);
            a.mov(rdx, cr3);
            a.mov(cr3, rdx);
            a.mov(rcx, __qword_ptr[rsi]);
            a.hlt();
        });
        m.Run();
        Assert.Equal((1UL, 2UL, 3UL), (m.Regs.Rax, m.Regs.Rbx, m.Regs.Rcx));
    }

    [Fact]
    public void Protected_mode_32_bit_paging_maps_4k_and_4m_pages()
    {
        using var m = new EmuTestMachine(longMode: false);
        var mem = m.Vm.Memory;
        const ulong Dir = 0x20000, Table = 0x21000;
        mem.WriteU32(Dir, (uint)Table | 3);
        mem.WriteU32(Dir + 4, 0x400000 | 0x83);
        for (uint i = 0; i < 1024; i++) mem.WriteU32(Table + i * 4, (i << 12) | 3);
        mem.WriteU32(Table + 0x80 * 4, 0x200000 | 3);
        mem.WriteU32(0x200000, 0xCAFE);
        mem.WriteU32(0x400010, 0xF00D);
        m.Load(EmuTestMachine.Code, a =>
        {
            a.mov(eax, cr4);
            a.or(eax, 0x10);
            a.mov(cr4, eax);
            a.mov(eax, (uint)Dir);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, 0x80000000);
            a.mov(cr0, eax);
            a.mov(esi, __dword_ptr[0x80000]);
            a.mov(edi, __dword_ptr[0x400010]);
            a.hlt();
        }, bitness: 32);
        var sr = m.Cpu.GetSpecialRegisters();
        var flat = EmuTestMachine.FlatData();
        sr.Ds = sr.Es = sr.Ss = flat;
        sr.Cs = flat with { Type = 0xB, Selector = 0x18 };
        sr.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Et;
        m.Cpu.SetSpecialRegisters(sr);
        m.Regs = new Registers { Rip = EmuTestMachine.Code, Rsp = 0x70000, Rflags = 2 };
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal((0xCAFEUL, 0xF00DUL), (m.Regs.Rsi, m.Regs.Rdi));
        Assert.Equal(0x20U, mem.ReadU32(Table + 0x80 * 4) & 0x60);
    }
}
