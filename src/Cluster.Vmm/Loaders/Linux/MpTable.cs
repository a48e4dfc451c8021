using System.Buffers.Binary;
using System.Text;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders.Linux;

/// <summary>
/// A PCI interrupt line as the VMM wired it: the device in <paramref name="Slot"/> (device number on bus 0, 0..31)
/// raises its pin <paramref name="Pin"/> (0 = INTA# .. 3 = INTD#) on I/O APIC input <paramref name="Gsi"/>
/// (with KVM's default routing GSI n is I/O APIC pin n). Level-triggered, active low, as PCI INTx is.
/// </summary>
public readonly record struct PciInterruptRoute(int Slot, int Pin, int Gsi)
{
    public const int IntA = 0, IntB = 1, IntC = 2, IntD = 3;
}

/// <summary>
/// The Intel MultiProcessor Specification 1.4 tables that tell a kernel without ACPI about its CPUs and interrupt
/// wiring, written as Firecracker's mptable does: the floating pointer structure at 0x9fc00 (the start of the
/// last KiB of base memory, which Linux scans; the loader's e820 map reserves it) and the configuration table
/// right after it. The table lists one processor per vCPU (local APIC ids 0..n-1, the bootstrap processor 0),
/// PCI bus 0 and the ISA bus (id 1: Linux matches PCI entries by PCI bus number), one I/O APIC (id n, 24 pins at
/// 0xfec00000, KVM's in-kernel one), ISA IRQs 0-15 on the I/O APIC's pins 0-15 (KVM's default routing sends
/// GSI n to pin n, IRQ 0 included: the VMM adds no pin-2 override), the VMM's PCI INTx routes, and the local
/// interrupts (ExtINT on LINT0 of the BSP, NMI on LINT1 of every CPU).
/// </summary>
public static class MpTable
{
    /// <summary>Where the floating pointer structure goes; the configuration table follows it.</summary>
    public const ulong Address = 0x9_fc00;

    public const uint LocalApicAddress = 0xfee0_0000, IoApicAddress = 0xfec0_0000;
    public const int IoApicPins = 24, IsaIrqs = 16;
    public const byte PciBusId = 0, IsaBusId = 1;

    /// <summary>The most vCPUs the table can describe: 8-bit APIC ids, the I/O APIC takes id n, 0xff is broadcast.</summary>
    public const int MaxVcpus = 254;

    public const int FloatingPointerSize = 16, HeaderSize = 44, ProcessorEntrySize = 20, EntrySize = 8;

    // Entry types and their fields (MP spec 1.4, chapter 4).
    public const byte ProcessorEntry = 0, BusEntry = 1, IoApicEntry = 2, IoInterruptEntry = 3, LocalInterruptEntry = 4;
    public const byte InterruptInt = 0, InterruptNmi = 1, InterruptExtInt = 3;

    /// <summary>Polarity active low (bits 1:0 = 11) and level trigger (bits 3:2 = 11): PCI INTx.</summary>
    public const ushort LevelActiveLow = 0x000f;

    private const byte SpecRevision = 4, LocalApicVersion = 0x14, IoApicVersion = 0x11;
    private const byte CpuEnabled = 1, CpuBootstrap = 2;
    private const uint CpuSignature = 0x600, CpuFeatures = 0x201; // family 6; FPU and APIC feature flags

    /// <summary>The floating pointer structure and the configuration table, as written at <paramref name="address"/>.</summary>
    public static byte[] Build(int vcpus, IReadOnlyList<PciInterruptRoute>? pciRoutes = null, ulong address = Address)
    {
        if (vcpus < 1 || vcpus > MaxVcpus)
            throw new VmmException($"linux boot: an MP table describes 1..{MaxVcpus} vCPUs, not {vcpus}", "bzimage-load");
        pciRoutes ??= [];
        foreach (var r in pciRoutes)
        {
            if (r.Slot is < 0 or > 31 || r.Pin is < 0 or > 3 || r.Gsi is < 0 or >= IoApicPins)
                throw new VmmException($"linux boot: PCI interrupt route {r} is outside slot 0..31, pin 0..3, GSI 0..{IoApicPins - 1}", "bzimage-load");
        }

        int entries = vcpus + 2 + 1 + IsaIrqs + pciRoutes.Count + 2;
        int tableLength = HeaderSize + vcpus * ProcessorEntrySize + (entries - vcpus) * EntrySize;
        var bytes = new byte[FloatingPointerSize + tableLength];
        byte ioApicId = (byte)vcpus;

        // The floating pointer structure: "_MP_", the table's address, length 1 (16 bytes), revision 1.4,
        // feature bytes 0 (a configuration table is present; virtual wire mode).
        var mpf = bytes.AsSpan(0, FloatingPointerSize);
        Encoding.ASCII.GetBytes("_MP_", mpf);
        BinaryPrimitives.WriteUInt32LittleEndian(mpf[4..], checked((uint)(address + FloatingPointerSize)));
        mpf[8] = 1;
        mpf[9] = SpecRevision;
        mpf[10] = Checksum(mpf);

        var table = bytes.AsSpan(FloatingPointerSize);
        Encoding.ASCII.GetBytes("PCMP", table);
        BinaryPrimitives.WriteUInt16LittleEndian(table[4..], (ushort)tableLength);
        table[6] = SpecRevision;
        Encoding.ASCII.GetBytes("CLUSTER ", table[8..16]);
        Encoding.ASCII.GetBytes("VMM         ", table[16..28]);
        BinaryPrimitives.WriteUInt16LittleEndian(table[34..], (ushort)entries);
        BinaryPrimitives.WriteUInt32LittleEndian(table[36..], LocalApicAddress);

        int at = HeaderSize;
        for (int cpu = 0; cpu < vcpus; cpu++)
        {
            var e = table.Slice(at, ProcessorEntrySize);
            e[0] = ProcessorEntry;
            e[1] = (byte)cpu;
            e[2] = LocalApicVersion;
            e[3] = (byte)(CpuEnabled | (cpu == 0 ? CpuBootstrap : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], CpuSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], CpuFeatures);
            at += ProcessorEntrySize;
        }
        Entry(table, ref at, BusEntry, PciBusId, "PCI   "u8);
        Entry(table, ref at, BusEntry, IsaBusId, "ISA   "u8);
        {
            var e = table.Slice(at, EntrySize);
            e[0] = IoApicEntry;
            e[1] = ioApicId;
            e[2] = IoApicVersion;
            e[3] = 1; // enabled
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], IoApicAddress);
            at += EntrySize;
        }
        for (int irq = 0; irq < IsaIrqs; irq++)
            Interrupt(table, ref at, IoInterruptEntry, InterruptInt, flags: 0, IsaBusId, (byte)irq, ioApicId, (byte)irq);
        foreach (var r in pciRoutes)
            Interrupt(table, ref at, IoInterruptEntry, InterruptInt, LevelActiveLow, PciBusId, (byte)(r.Slot << 2 | r.Pin), ioApicId, (byte)r.Gsi);
        Interrupt(table, ref at, LocalInterruptEntry, InterruptExtInt, flags: 0, IsaBusId, 0, destination: 0, input: 0);
        Interrupt(table, ref at, LocalInterruptEntry, InterruptNmi, flags: 0, IsaBusId, 0, destination: 0xff, input: 1);
        if (at != tableLength) throw new InvalidOperationException($"MP table: wrote {at} bytes of {tableLength}");
        table[7] = Checksum(table);
        return bytes;
    }

    /// <summary>Builds the tables and writes them at <see cref="Address"/>; returns their length.</summary>
    public static int Write(GuestMemory memory, int vcpus, IReadOnlyList<PciInterruptRoute>? pciRoutes = null)
    {
        var bytes = Build(vcpus, pciRoutes, Address);
        if (Address + (ulong)bytes.Length > LinuxLoader.KernelAddress)
            throw new VmmException($"linux boot: an MP table of {bytes.Length} bytes does not fit below 1 MiB", "bzimage-load");
        memory.Write(Address, bytes);
        return bytes.Length;
    }

    /// <summary>The byte that makes <paramref name="bytes"/> (its own place still 0) sum to 0 modulo 256.</summary>
    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (var b in bytes) sum += b;
        return (byte)(-sum);
    }

    private static void Entry(Span<byte> table, ref int at, byte type, byte id, ReadOnlySpan<byte> name)
    {
        var e = table.Slice(at, EntrySize);
        e[0] = type;
        e[1] = id;
        name.CopyTo(e[2..]);
        at += EntrySize;
    }

    private static void Interrupt(Span<byte> table, ref int at, byte type, byte kind, ushort flags, byte bus, byte busIrq, byte destination, byte input)
    {
        var e = table.Slice(at, EntrySize);
        e[0] = type;
        e[1] = kind;
        BinaryPrimitives.WriteUInt16LittleEndian(e[2..], flags);
        e[4] = bus;
        e[5] = busIrq;
        e[6] = destination;
        e[7] = input;
        at += EntrySize;
    }
}
