using Xunit;
using Cluster.Vmm.Devices;

namespace Cluster.Vmm.Tests.Devices;

public class IoBusTests
{
    private sealed class RecordingDevice : IPortDevice, IMmioDevice
    {
        public List<(ulong Offset, int Size, ulong? Value)> Accesses { get; } = [];
        public ulong ReadValue { get; set; } = 0x5a;

        public ulong Read(ushort offset, int size) { Accesses.Add((offset, size, null)); return ReadValue; }
        public void Write(ushort offset, int size, ulong value) => Accesses.Add((offset, size, value));
        public ulong Read(ulong offset, int size) { Accesses.Add((offset, size, null)); return ReadValue; }
        public void Write(ulong offset, int size, ulong value) => Accesses.Add((offset, size, value));
    }

    [Fact]
    public void Dispatches_port_accesses_with_offsets_relative_to_the_range()
    {
        var bus = new IoBus();
        var a = new RecordingDevice { ReadValue = 0x11 };
        var b = new RecordingDevice { ReadValue = 0x22 };
        bus.RegisterPorts(0x3f8, 8, a);
        bus.RegisterPorts(0x60, 1, b);

        Assert.Equal(0x11UL, bus.PortRead(0x3fd, 1));
        bus.PortWrite(0x3f8, 1, (byte)'x');
        Assert.Equal(0x22UL, bus.PortRead(0x60, 1));

        Assert.Equal([(5UL, 1, (ulong?)null), (0UL, 1, (ulong?)'x')], a.Accesses);
        Assert.Single(b.Accesses);
    }

    [Fact]
    public void Dispatches_mmio_accesses_with_offsets_relative_to_the_range()
    {
        var bus = new IoBus();
        var d = new RecordingDevice { ReadValue = 0xdeadbeef };
        bus.RegisterMmio(0xd000_0000, 0x1000, d);

        Assert.Equal(0xdeadbeefUL, bus.MmioRead(0xd000_0010, 4));
        bus.MmioWrite(0xd000_0ff8, 8, 7);

        Assert.Equal([(0x10UL, 4, (ulong?)null), (0xff8UL, 8, (ulong?)7)], d.Accesses);
    }

    [Theory]
    [InlineData(0x3f8, 8)]
    [InlineData(0x3f0, 9)]
    [InlineData(0x3ff, 1)]
    [InlineData(0x3f0, 0x20)]
    public void Refuses_a_port_range_that_overlaps_a_claimed_one(int first, int count)
    {
        var bus = new IoBus();
        bus.RegisterPorts(0x3f8, 8, new RecordingDevice());
        var e = Assert.Throws<VmmException>(() => bus.RegisterPorts((ushort)first, count, new RecordingDevice()));
        Assert.Contains("overlaps", e.Message);
    }

    [Fact]
    public void Accepts_adjacent_port_ranges()
    {
        var bus = new IoBus();
        bus.RegisterPorts(0x3f8, 8, new RecordingDevice { ReadValue = 1 });
        bus.RegisterPorts(0x3f0, 8, new RecordingDevice { ReadValue = 2 });
        bus.RegisterPorts(0x400, 1, new RecordingDevice { ReadValue = 3 });
        Assert.Equal([2UL, 1UL, 1UL, 3UL], new ushort[] { 0x3f7, 0x3f8, 0x3ff, 0x400 }.Select(p => bus.PortRead(p, 1)));
    }

    [Fact]
    public void Refuses_empty_and_out_of_range_port_ranges()
    {
        var bus = new IoBus();
        Assert.Throws<VmmException>(() => bus.RegisterPorts(0x10, 0, new RecordingDevice()));
        Assert.Throws<VmmException>(() => bus.RegisterPorts(0xfffe, 3, new RecordingDevice()));
    }

    [Fact]
    public void Refuses_an_mmio_range_that_overlaps_or_wraps()
    {
        var bus = new IoBus();
        bus.RegisterMmio(0x1000, 0x1000, new RecordingDevice());
        Assert.Contains("overlaps", Assert.Throws<VmmException>(() => bus.RegisterMmio(0x1fff, 2, new RecordingDevice())).Message);
        Assert.Contains("wraps", Assert.Throws<VmmException>(() => bus.RegisterMmio(ulong.MaxValue - 1, 4, new RecordingDevice())).Message);
        bus.RegisterMmio(0x2000, 0x10, new RecordingDevice());
    }

    [Theory]
    [InlineData(1, 0xffUL)]
    [InlineData(2, 0xffffUL)]
    [InlineData(4, 0xffff_ffffUL)]
    public void Unclaimed_port_reads_return_all_ones_of_their_width_and_are_counted(int size, ulong expected)
    {
        var bus = new IoBus();
        Assert.Equal(expected, bus.PortRead(0x80, size));
        Assert.Equal(1, bus.UnclaimedPortReads);
    }

    [Fact]
    public void Unclaimed_writes_and_mmio_reads_are_dropped_and_counted()
    {
        var bus = new IoBus();
        bus.PortWrite(0x80, 1, 0x12);
        bus.PortWrite(0x80, 1, 0x13);
        bus.MmioWrite(0xfee0_0000, 4, 1);
        Assert.Equal(ulong.MaxValue, bus.MmioRead(0xfee0_0000, 8));
        Assert.Equal(2, bus.UnclaimedPortWrites);
        Assert.Equal(1, bus.UnclaimedMmioWrites);
        Assert.Equal(1, bus.UnclaimedMmioReads);
        Assert.Equal(0, bus.UnclaimedPortReads);
    }
}
