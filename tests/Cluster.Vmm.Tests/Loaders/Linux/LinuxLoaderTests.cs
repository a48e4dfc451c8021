using System.Buffers.Binary;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders.Linux;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Loaders.Linux;

public sealed class LinuxLoaderTests
{
    private const int SetupSects = 2, KernelBytes = 8192;

    /// <summary>A bzImage with a valid setup header (protocol 2.15, 64-bit entry) and a recognisable kernel body.</summary>
    internal static byte[] SyntheticBzImage(ushort version = 0x020f, byte loadFlags = 1, ushort xloadFlags = 3)
    {
        var image = new byte[(SetupSects + 1) * 512 + KernelBytes];
        image[0x1f1] = SetupSects;
        image[0x1fe] = 0x55;
        image[0x1ff] = 0xaa;
        image[0x200] = 0xeb;
        image[0x201] = 0x66; // the header ends at 0x202 + 0x66
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x202), BzImage.HeaderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x206), version);
        image[0x211] = loadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x22c), 0x37ff_ffff);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x230), 0x20_0000);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x236), xloadFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x238), 2047);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x260), 0x10_0000);
        for (int i = 0; i < KernelBytes; i++) image[(SetupSects + 1) * 512 + i] = (byte)(i * 7);
        return image;
    }

    [Fact]
    public void Setup_header_fields_are_read_by_the_boot_protocol()
    {
        var bz = BzImage.Parse(SyntheticBzImage());
        Assert.Equal((SetupSects + 1) * 512, bz.SetupSize);
        Assert.Equal(KernelBytes, bz.ProtectedModeKernel.Length);
        Assert.Equal(0x37ff_ffffu, bz.InitrdAddrMax);
        Assert.Equal(2047u, bz.CmdlineSize);
        Assert.Equal(0x10_0000u, bz.InitSize);
        Assert.Equal(0x268 - 0x1f1, bz.SetupHeader.Length);
    }

    [Theory]
    [InlineData("magic")]
    [InlineData("version")]
    [InlineData("loadflags")]
    [InlineData("xloadflags")]
    [InlineData("short")]
    public void Images_that_are_not_64_bit_bzImages_are_refused_with_the_reason(string defect)
    {
        var image = defect switch
        {
            "version" => SyntheticBzImage(version: 0x0206),
            "loadflags" => SyntheticBzImage(loadFlags: 0),
            "xloadflags" => SyntheticBzImage(xloadFlags: 0),
            "short" => new byte[512],
            _ => SyntheticBzImage(),
        };
        if (defect == "magic") image[0x202] = (byte)'X';
        var e = Assert.Throws<VmmException>(() => BzImage.Parse(image));
        Assert.Equal("bzimage-load", e.Operation);
        Assert.StartsWith("bzImage: ", e.Message);
    }

    [Fact]
    public void Kernel_initramfs_command_line_and_boot_params_are_placed_and_the_vcpu_enters_startup_64()
    {
        const ulong ram = 64UL << 20;
        using var memory = new TestMemory(ram);
        var vcpu = new FakeVcpu(0);
        var initrd = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        var layout = LinuxLoader.Load(memory.Memory, vcpu, BzImage.Parse(SyntheticBzImage()), initrd, "console=ttyS0 quiet");

        var kernel = new byte[KernelBytes];
        memory.Memory.Read(LinuxLoader.KernelAddress, kernel);
        Assert.Equal(SyntheticBzImage()[((SetupSects + 1) * 512)..], kernel);

        Assert.True(layout.InitrdAddress % 4096 == 0 && layout.InitrdAddress + (ulong)initrd.Length <= ram);
        Assert.True(layout.InitrdAddress + (ulong)initrd.Length > ram - 4096, "the initramfs sits at the top of RAM");
        var placed = new byte[initrd.Length];
        memory.Memory.Read(layout.InitrdAddress, placed);
        Assert.Equal(initrd, placed);

        ulong bp = LinuxLoader.BootParamsAddress;
        Assert.Equal(0xff, memory.Memory.ReadU8(bp + 0x210));                        // type_of_loader
        Assert.Equal(0x81, memory.Memory.ReadU8(bp + 0x211) & 0x81);                  // LOADED_HIGH | CAN_USE_HEAP
        Assert.Equal(BzImage.HeaderMagic, memory.Memory.ReadU32(bp + 0x202));
        Assert.Equal((uint)LinuxLoader.CommandLineAddress, memory.Memory.ReadU32(bp + 0x228));
        Assert.Equal((uint)layout.InitrdAddress, memory.Memory.ReadU32(bp + 0x218));
        Assert.Equal((uint)initrd.Length, memory.Memory.ReadU32(bp + 0x21c));
        Assert.Equal(3, memory.Memory.ReadU8(bp + 0x1e8));                            // e820 entries
        Assert.Equal(LinuxLoader.KernelAddress, memory.Memory.ReadU64(bp + 0x2d0 + 2 * 20));
        Assert.Equal(ram - LinuxLoader.KernelAddress, memory.Memory.ReadU64(bp + 0x2d0 + 2 * 20 + 8));
        var cmdline = new byte[20];
        memory.Memory.Read(LinuxLoader.CommandLineAddress, cmdline);
        Assert.Equal("console=ttyS0 quiet\0", System.Text.Encoding.ASCII.GetString(cmdline));

        Assert.Equal(LinuxLoader.KernelAddress + 0x200, vcpu.Registers.Rip);
        Assert.Equal(bp, vcpu.Registers.Rsi);
        Assert.Equal(LinuxBootCpu.CodeSelector, vcpu.SpecialRegisters.Cs.Selector);
        Assert.True(vcpu.SpecialRegisters.Cs.L);
        Assert.Equal(CpuBits.EferLme | CpuBits.EferLma, vcpu.SpecialRegisters.Efer);
        Assert.NotEqual(0UL, vcpu.SpecialRegisters.Cr0 & CpuBits.Cr0Pg);
        Assert.Equal(0x83UL, memory.Memory.ReadU64(LinuxBootCpu.PdAddress + 3 * 4096 + 511 * 8) & 0xfff); // 4 GiB identity map
    }

    [Fact]
    public void An_initramfs_that_does_not_fit_above_the_kernel_is_refused()
    {
        using var memory = new TestMemory(4UL << 20);
        var e = Assert.Throws<VmmException>(() =>
            LinuxLoader.Load(memory.Memory, new FakeVcpu(0), BzImage.Parse(SyntheticBzImage()), new byte[3 << 20], "console=ttyS0"));
        Assert.Contains("initramfs", e.Message);
    }

    [Fact]
    public void A_command_line_longer_than_the_kernel_accepts_is_refused()
    {
        using var memory = new TestMemory(8UL << 20);
        var e = Assert.Throws<VmmException>(() =>
            LinuxLoader.Load(memory.Memory, new FakeVcpu(0), BzImage.Parse(SyntheticBzImage()), [], new string('x', 3000)));
        Assert.Contains("command line", e.Message);
    }
}
