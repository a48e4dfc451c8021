using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Loaders;

public class LongModeSetupTests
{
    /// <summary>Translates a virtual address by walking the 4-level tables in guest memory, as the MMU does.</summary>
    private static ulong? Walk(GuestMemory memory, ulong cr3, ulong va)
    {
        const ulong Present = 1, Large = 0x80, AddressMask = 0x000f_ffff_ffff_f000;
        ulong pml4e = memory.ReadU64((cr3 & AddressMask) + ((va >> 39) & 511) * 8);
        if ((pml4e & Present) == 0) return null;
        ulong pdpte = memory.ReadU64((pml4e & AddressMask) + ((va >> 30) & 511) * 8);
        if ((pdpte & Present) == 0) return null;
        if ((pdpte & Large) != 0) return (pdpte & AddressMask & ~((1UL << 30) - 1)) + (va & ((1UL << 30) - 1));
        ulong pde = memory.ReadU64((pdpte & AddressMask) + ((va >> 21) & 511) * 8);
        if ((pde & Present) == 0) return null;
        if ((pde & Large) != 0) return (pde & AddressMask & ~((1UL << 21) - 1)) + (va & ((1UL << 21) - 1));
        ulong pte = memory.ReadU64((pde & AddressMask) + ((va >> 12) & 511) * 8);
        return (pte & Present) == 0 ? null : (pte & AddressMask) + (va & 0xfff);
    }

    [Theory]
    [InlineData(64UL << 20)]
    [InlineData(6UL << 30)]
    public void Page_tables_identity_map_all_memory_and_the_32_bit_hole(ulong memoryBytes)
    {
        using var m = new TestMemory(8UL << 20);
        LongModeSetup.WriteTables(m.Memory, memoryBytes);
        ulong mapped = LongModeSetup.MappedBytes(memoryBytes);
        Assert.True(mapped >= memoryBytes && mapped >= 4UL << 30);
        for (ulong va = 0; va < mapped; va += 0x1f_f3c7)
            Assert.Equal(va, Walk(m.Memory, GuestLayout.Pml4Address, va));
        Assert.Equal(mapped - 1, Walk(m.Memory, GuestLayout.Pml4Address, mapped - 1));
        Assert.Null(Walk(m.Memory, GuestLayout.Pml4Address, mapped));
        Assert.Null(Walk(m.Memory, GuestLayout.Pml4Address, 1UL << 39));
    }

    [Fact]
    public void Tables_stay_inside_the_reserved_area()
    {
        ulong lastDirectory = GuestLayout.PageDirectoriesAddress + (ulong)GuestLayout.MaxPageDirectories * GuestAddress.PageSize;
        Assert.True(lastDirectory <= GuestLayout.ArgsAddress);
        Assert.True(GuestLayout.StackTop(GuestLayout.MaxVcpus - 1) - GuestLayout.StackSize >= GuestLayout.StacksBottom);
        Assert.True(GuestLayout.StacksTop <= GuestLayout.ImageBase);
    }

    [Fact]
    public void Gdt_holds_a_64_bit_code_segment_and_a_data_segment_at_the_selectors_used()
    {
        using var m = new TestMemory(4UL << 20);
        LongModeSetup.WriteTables(m.Memory, 4UL << 20);
        ulong code = m.Memory.ReadU64(GuestLayout.GdtAddress + GuestLayout.CodeSelector);
        ulong data = m.Memory.ReadU64(GuestLayout.GdtAddress + GuestLayout.DataSelector);
        Assert.Equal(0UL, m.Memory.ReadU64(GuestLayout.GdtAddress));
        Assert.Equal(0x9bUL, (code >> 40) & 0xff);
        Assert.Equal(1UL, (code >> 53) & 1);
        Assert.Equal(0x93UL, (data >> 40) & 0xff);
    }

    [Fact]
    public void Special_registers_enter_long_mode_with_paging()
    {
        var s = LongModeSetup.InitialSpecialRegisters(default);
        Assert.Equal(CpuBits.Cr0Pe | CpuBits.Cr0Pg, s.Cr0 & (CpuBits.Cr0Pe | CpuBits.Cr0Pg));
        Assert.Equal(CpuBits.Cr4Pae, s.Cr4 & CpuBits.Cr4Pae);
        Assert.Equal(CpuBits.EferLme | CpuBits.EferLma, s.Efer);
        Assert.Equal(GuestLayout.Pml4Address, s.Cr3);
        Assert.True(s.Cs.L && s.Cs.Present && s.Cs.S);
        Assert.Equal(GuestLayout.CodeSelector, s.Cs.Selector);
        Assert.Equal(GuestLayout.DataSelector, s.Ss.Selector);
        Assert.Equal(GuestLayout.GdtAddress, s.Gdt.Base);
    }

    [Fact]
    public void Registers_pass_arguments_vcpu_id_and_a_private_stack()
    {
        var args = new BootArguments(2, GuestLayout.ArgsAddress);
        var r0 = LongModeSetup.InitialRegisters(0, 3, 0x100000, args, 64UL << 20);
        var r2 = LongModeSetup.InitialRegisters(2, 3, 0x100000, args, 64UL << 20);
        Assert.Equal((0x100000UL, 2UL, GuestLayout.ArgsAddress, 0UL, 3UL, 64UL << 20), (r0.Rip, r0.Rdi, r0.Rsi, r0.Rdx, r0.Rcx, r0.R8));
        Assert.Equal(2UL, r2.Rdx);
        Assert.Equal(0UL, r0.Rsp % 16);
        Assert.Equal(r0.Rsp - 2 * GuestLayout.StackSize, r2.Rsp);
        Assert.Equal(CpuBits.RflagsFixed, r0.Rflags);
    }

    [Fact]
    public void Refuses_memory_too_small_for_the_layout()
    {
        using var m = new TestMemory(4UL << 20);
        Assert.Throws<VmmException>(() => LongModeSetup.WriteTables(m.Memory, 1UL << 20));
    }
}
