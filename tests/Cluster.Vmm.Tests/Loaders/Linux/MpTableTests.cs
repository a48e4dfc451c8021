using System.Buffers.Binary;
using System.Text;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders.Linux;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Loaders.Linux;

/// <summary>The MP table read back from guest memory the way Linux's mpparse finds and checks it.</summary>
public sealed class MpTableTests
{
    private sealed record Parsed(
        ulong FloatingPointer, ulong TableAddress, int Entries, uint LocalApic,
        List<(byte ApicId, byte Flags)> Cpus, List<(byte Id, string Type)> Buses, List<(byte Id, uint Address)> IoApics,
        List<(byte Kind, ushort Flags, byte Bus, byte BusIrq, byte Apic, byte Pin)> IoInterrupts,
        List<(byte Kind, byte Bus, byte Apic, byte Lint)> LocalInterrupts);

    /// <summary>Scans the last KiB of base memory (0x9fc00) on 16-byte boundaries for "_MP_", as smp_scan_config does,
    /// checks both checksums and lengths, and decodes every entry of the configuration table.</summary>
    private static Parsed Parse(GuestMemory memory)
    {
        var low = new byte[0x400];
        memory.Read(639 * 0x400, low);
        int mpf = -1;
        for (int at = 0; at < low.Length; at += 16)
        {
            if (Encoding.ASCII.GetString(low, at, 4) == "_MP_" && low[at + 8] == 1 && Sum(low.AsSpan(at, 16)) == 0)
            {
                mpf = at;
                break;
            }
        }
        Assert.True(mpf >= 0, "no valid MP floating pointer structure in 0x9fc00-0xa0000");
        Assert.Equal(4, low[mpf + 9]);                                     // revision 1.4
        Assert.Equal(0, low[mpf + 11]);                                    // a configuration table, not a default one
        uint physptr = BinaryPrimitives.ReadUInt32LittleEndian(low.AsSpan(mpf + 4));
        Assert.NotEqual(0u, physptr);

        var header = new byte[MpTable.HeaderSize];
        memory.Read(physptr, header);
        Assert.Equal("PCMP", Encoding.ASCII.GetString(header, 0, 4));
        Assert.Equal(4, header[6]);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(4));
        var table = new byte[length];
        memory.Read(physptr, table);
        Assert.Equal(0, Sum(table));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(34));
        var parsed = new Parsed(639 * 0x400 + (ulong)mpf, physptr, count, BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(36)), [], [], [], [], []);
        int p = MpTable.HeaderSize, lastType = 0;
        for (int i = 0; i < count; i++)
        {
            byte type = table[p];
            Assert.True(type >= lastType, "entries are in ascending type order");
            lastType = type;
            switch (type)
            {
                case MpTable.ProcessorEntry:
                    parsed.Cpus.Add((table[p + 1], table[p + 3]));
                    p += MpTable.ProcessorEntrySize;
                    break;
                case MpTable.BusEntry:
                    parsed.Buses.Add((table[p + 1], Encoding.ASCII.GetString(table, p + 2, 6)));
                    p += MpTable.EntrySize;
                    break;
                case MpTable.IoApicEntry:
                    Assert.Equal(1, table[p + 3] & 1);
                    parsed.IoApics.Add((table[p + 1], BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(p + 4))));
                    p += MpTable.EntrySize;
                    break;
                case MpTable.IoInterruptEntry:
                    parsed.IoInterrupts.Add((table[p + 1], BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(p + 2)), table[p + 4], table[p + 5], table[p + 6], table[p + 7]));
                    p += MpTable.EntrySize;
                    break;
                case MpTable.LocalInterruptEntry:
                    parsed.LocalInterrupts.Add((table[p + 1], table[p + 4], table[p + 6], table[p + 7]));
                    p += MpTable.EntrySize;
                    break;
                default:
                    Assert.Fail($"unknown MP entry type {type} at offset {p}");
                    break;
            }
        }
        Assert.Equal(length, p);
        return parsed;
    }

    private static int Sum(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (var b in bytes) sum += b;
        return sum & 0xff;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(MpTable.MaxVcpus)]
    public void Table_lists_every_vcpu_the_io_apic_and_isa_irqs_on_their_own_pins(int vcpus)
    {
        using var memory = new TestMemory(4UL << 20);
        MpTable.Write(memory.Memory, vcpus);
        var t = Parse(memory.Memory);

        Assert.Equal(MpTable.Address, t.FloatingPointer);
        Assert.Equal(MpTable.LocalApicAddress, t.LocalApic);
        Assert.Equal(Enumerable.Range(0, vcpus).Select(i => (byte)i), t.Cpus.Select(c => c.ApicId));
        Assert.Equal(3, t.Cpus[0].Flags);                                  // enabled, bootstrap processor
        Assert.All(t.Cpus.Skip(1), c => Assert.Equal(1, c.Flags));          // enabled
        Assert.Equal([(MpTable.PciBusId, "PCI   "), (MpTable.IsaBusId, "ISA   ")], t.Buses);
        Assert.Equal([((byte)vcpus, MpTable.IoApicAddress)], t.IoApics);
        Assert.Equal(MpTable.IsaIrqs, t.IoInterrupts.Count);
        for (int irq = 0; irq < MpTable.IsaIrqs; irq++)
            Assert.Equal((MpTable.InterruptInt, (ushort)0, MpTable.IsaBusId, (byte)irq, (byte)vcpus, (byte)irq), t.IoInterrupts[irq]);
        Assert.Equal([(MpTable.InterruptExtInt, MpTable.IsaBusId, (byte)0, (byte)0), (MpTable.InterruptNmi, MpTable.IsaBusId, (byte)0xff, (byte)1)],
            t.LocalInterrupts);
        Assert.Equal(vcpus + 2 + 1 + 16 + 2, t.Entries);
    }

    [Fact]
    public void Pci_routes_are_level_triggered_active_low_entries_of_bus_0_by_slot_and_pin()
    {
        using var memory = new TestMemory(4UL << 20);
        PciInterruptRoute[] routes = [new(1, PciInterruptRoute.IntA, 17), new(2, PciInterruptRoute.IntA, 18), new(9, PciInterruptRoute.IntD, 17)];
        MpTable.Write(memory.Memory, 2, routes);
        var t = Parse(memory.Memory);

        var pci = t.IoInterrupts.Where(i => i.Bus == MpTable.PciBusId).ToList();
        Assert.Equal(3, pci.Count);
        Assert.Equal((MpTable.InterruptInt, MpTable.LevelActiveLow, MpTable.PciBusId, (byte)(1 << 2 | 0), (byte)2, (byte)17), pci[0]);
        Assert.Equal((byte)(2 << 2), pci[1].BusIrq);
        Assert.Equal((byte)18, pci[1].Pin);
        Assert.Equal((byte)(9 << 2 | 3), pci[2].BusIrq);
        Assert.Equal(2 + 2 + 1 + 16 + 3 + 2, t.Entries);
    }

    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(MpTable.MaxVcpus + 1, 0, 0, 0)]
    [InlineData(1, 32, 0, 16)]
    [InlineData(1, 1, 4, 16)]
    [InlineData(1, 1, 0, 24)]
    public void Impossible_tables_are_refused(int vcpus, int slot, int pin, int gsi)
    {
        PciInterruptRoute[] routes = slot == 0 ? [] : [new(slot, pin, gsi)];
        var e = Assert.Throws<VmmException>(() => MpTable.Build(vcpus, routes));
        Assert.Equal("bzimage-load", e.Operation);
        Assert.StartsWith("linux boot: ", e.Message);
    }

    [Fact]
    public void The_linux_loader_writes_the_table_for_its_vcpus_and_reserves_it_in_the_e820_map()
    {
        using var memory = new TestMemory(64UL << 20);
        var layout = LinuxLoader.Load(memory.Memory, new FakeVcpu(0), BzImage.Parse(LinuxLoaderTests.SyntheticBzImage()), [], "console=ttyS0",
            vcpuCount: 3, pciInterrupts: [new(1, PciInterruptRoute.IntA, 17)]);
        var t = Parse(memory.Memory);

        Assert.Equal(3, t.Cpus.Count);
        Assert.Single(t.IoInterrupts, i => i.Bus == MpTable.PciBusId && i.Pin == 17);
        Assert.Equal(MpTable.Address, layout.MpTableAddress);
        Assert.True(layout.MpTableSize > 0);
        Assert.Equal(new E820Entry(0, MpTable.Address, E820Type.Ram), layout.MemoryMap[0]);
        var reserved = layout.MemoryMap[1];
        Assert.Equal(E820Type.Reserved, reserved.Type);
        Assert.True(reserved.Address <= MpTable.Address && MpTable.Address + (ulong)layout.MpTableSize <= reserved.Address + reserved.Size);
    }
}
