using System.Text;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders.Linux;

/// <summary>Where the loader put things, for logs and tests.</summary>
public sealed record LinuxBootLayout(ulong KernelAddress, ulong EntryPoint, ulong BootParamsAddress, ulong CommandLineAddress,
    ulong InitrdAddress, ulong InitrdSize, IReadOnlyList<E820Entry> MemoryMap, ulong MpTableAddress, int MpTableSize);

/// <summary>
/// Direct 64-bit boot of a Linux bzImage: the protected-mode kernel at 1 MiB, boot_params at 0x7000, the
/// command line at 0x20000, the initramfs at the top of RAM below initrd_addr_max, an e820 map of the guest's
/// RAM (0x9fc00-0x100000 reserved: the MP table, then the legacy hole), an Intel MP table at 0x9fc00 that lists
/// the vCPUs, the I/O APIC and the PCI interrupt routes the VMM wired (see <see cref="MpTable"/>; the stock
/// kernel has no ACPI tables to read here), and the vCPU in long mode with identity paging entering
/// startup_64 (load address + 0x200) with RSI pointing at boot_params. Guest RAM must be one slot at address 0.
/// </summary>
public static class LinuxLoader
{
    public const ulong BootParamsAddress = 0x7000, CommandLineAddress = 0x2_0000, KernelAddress = 0x10_0000;
    public const ulong LowRamEnd = 0xa_0000;

    /// <summary>The end of the RAM that the e820 map reports below 1 MiB: the MP table follows (as an EBDA would).</summary>
    public const ulong BaseRamEnd = MpTable.Address;

    /// <summary>The 64-bit entry point's offset from the load address (startup_64).</summary>
    public const ulong Entry64Offset = 0x200;

    /// <summary>
    /// Loads <paramref name="kernel"/> and <paramref name="initrd"/>, writes <paramref name="commandLine"/>, boot_params
    /// and the MP table (<paramref name="vcpuCount"/> vCPUs, the PCI INTx lines in <paramref name="pciInterrupts"/>,
    /// none by default), and puts <paramref name="vcpu"/> (the bootstrap processor) at the 64-bit entry; the kernel
    /// starts the other vCPUs itself (INIT/SIPI through the local APICs).
    /// </summary>
    public static LinuxBootLayout Load(GuestMemory memory, IVcpu vcpu, BzImage kernel, ReadOnlySpan<byte> initrd, string commandLine,
        int vcpuCount = 1, IReadOnlyList<PciInterruptRoute>? pciInterrupts = null)
    {
        var ram = memory.FindSlot(0) ?? throw Fail("guest RAM must start at address 0");
        ulong ramEnd = ram.End;
        ulong kernelEnd = KernelAddress + Math.Max((ulong)kernel.ProtectedModeKernel.Length, kernel.InitSize);
        if (kernelEnd > ramEnd)
            throw Fail($"the kernel needs memory up to 0x{kernelEnd:x} but RAM ends at 0x{ramEnd:x}");

        var cmdline = Encoding.ASCII.GetBytes(commandLine + "\0");
        if ((ulong)commandLine.Length > kernel.CmdlineSize)
            throw Fail($"command line of {commandLine.Length} bytes exceeds the kernel's {kernel.CmdlineSize}");
        if (CommandLineAddress + (ulong)cmdline.Length > BaseRamEnd)
            throw Fail($"command line does not fit below 0x{BaseRamEnd:x}");

        memory.Write(KernelAddress, kernel.ProtectedModeKernel);
        memory.Write(CommandLineAddress, cmdline);

        var bootParams = new BootParams(kernel);
        bootParams.SetCommandLine(CommandLineAddress);
        ulong initrdAddress = 0;
        if (!initrd.IsEmpty)
        {
            ulong top = Math.Min(ramEnd, (ulong)kernel.InitrdAddrMax + 1);
            ulong size = (ulong)initrd.Length;
            if (size > top || ((top - size) & ~0xfffUL) < kernelEnd)
                throw Fail($"an initramfs of {size} bytes does not fit between the kernel (ends 0x{kernelEnd:x}) and 0x{top:x}");
            initrdAddress = (top - size) & ~0xfffUL;
            memory.Write(initrdAddress, initrd);
            bootParams.SetRamdisk(initrdAddress, size);
        }
        int mpTableSize = MpTable.Write(memory, vcpuCount, pciInterrupts);
        var map = new List<E820Entry> { new(0, BaseRamEnd, E820Type.Ram), new(BaseRamEnd, KernelAddress - BaseRamEnd, E820Type.Reserved) };
        map.Add(new E820Entry(KernelAddress, ramEnd - KernelAddress, E820Type.Ram));
        bootParams.SetE820(map);
        memory.Write(BootParamsAddress, bootParams.Bytes);

        ulong entry = KernelAddress + Entry64Offset;
        LinuxBootCpu.Enter(vcpu, memory, entry, rsp: BootParamsAddress, rsi: BootParamsAddress);
        return new LinuxBootLayout(KernelAddress, entry, BootParamsAddress, CommandLineAddress, initrdAddress, (ulong)initrd.Length, map,
            MpTable.Address, mpTableSize);
    }

    private static VmmException Fail(string why) => new($"linux boot: {why}", "bzimage-load");
}
