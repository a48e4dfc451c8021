using Cluster.Vmm.Devices;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.Pci;

public class PciRootTests
{
    private const int VirtioSlot = 1;

    [Fact]
    public void Enumeration_finds_the_host_bridge_at_00_00_0_and_virtio_blk_at_slot_1()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);

        Assert.Equal(0x8086u, pci.Read(0, 0x00, 2));
        Assert.Equal(0x0600u, pci.Read(0, 0x0a, 2));
        Assert.Equal(0u, pci.Read(0, 0x0e, 1) & 0x7f);

        Assert.Equal(0x1042_1af4u, pci.Read(VirtioSlot, 0x00, 4));
        Assert.Equal(1u, pci.Read(VirtioSlot, 0x08, 1));
        Assert.Equal(0u, pci.Read(VirtioSlot, 0x0e, 1));
        Assert.Equal(0x1af4u, pci.Read(VirtioSlot, 0x2c, 2));
        Assert.True(pci.Read(VirtioSlot, 0x2e, 2) >= 0x40, "a modern virtio device's subsystem id is 0x40 or more");
        Assert.Equal(1u, pci.Read(VirtioSlot, 0x3d, 1));
        Assert.Equal((uint)rig.Devices.Intx.GsiFor(VirtioSlot), pci.Read(VirtioSlot, 0x3c, 1));
        for (int slot = 2; slot < 32; slot++) Assert.Equal(0xffff_ffffu, pci.Read(slot, 0, 4));
    }

    [Fact]
    public void The_virtio_capabilities_point_into_bar0_and_the_notify_one_carries_its_multiplier()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);
        var caps = pci.Capabilities(VirtioSlot);

        Assert.DoesNotContain(caps, c => c.Id == 0x11);
        var types = new Dictionary<byte, (uint Offset, uint Length)>();
        foreach (var (id, at) in caps.Where(c => c.Id == 0x09))
        {
            byte type = (byte)pci.Read(VirtioSlot, at + 3, 1);
            Assert.Equal(0u, pci.Read(VirtioSlot, at + 4, 1));
            uint offset = pci.Read(VirtioSlot, at + 8, 4), length = pci.Read(VirtioSlot, at + 12, 4);
            Assert.True(offset + length <= 0x8000, $"capability type {type} at 0x{offset:x}+0x{length:x} is outside the BAR");
            Assert.Equal(type == 2 ? 20u : 16u, pci.Read(VirtioSlot, at + 2, 1));
            types[type] = (offset, length);
            if (type == 2) Assert.Equal(4u, pci.Read(VirtioSlot, at + 16, 4));
        }
        Assert.Equal([1, 2, 3, 4], types.Keys.Order().Select(k => (int)k));
        Assert.True(types[1].Length >= 0x38);
        Assert.Equal(rig.Driver.NumQueues * 4u, types[2].Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Msix_is_offered_only_when_the_vm_delivers_msis_with_a_vector_per_queue_and_one_for_config(int queues)
    {
        using var rig = DeviceRig.WithRawDisk(msi: true, queues: queues);
        var pci = new PciConfigPorts(rig.Bus);
        var (_, at) = Assert.Single(pci.Capabilities(VirtioSlot), c => c.Id == 0x11);

        Assert.Equal((uint)queues, pci.Read(VirtioSlot, at + 2, 2) & 0x7ff);
        Assert.Equal(0u, pci.Read(VirtioSlot, at + 4, 4) & 7);
        Assert.Equal(0u, pci.Read(VirtioSlot, at + 2, 2) & 0xc000);
    }

    [Fact]
    public void Sizing_bar0_reads_back_its_size_mask_and_restoring_it_maps_it_again()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);
        uint low = pci.Read(VirtioSlot, 0x10, 4), high = pci.Read(VirtioSlot, 0x14, 4);
        Assert.Equal(0b100u, low & 0xf);
        ulong bar = rig.Driver.Bar;
        Assert.InRange(bar, DeviceManager.MmioWindowStart, DeviceManager.MmioWindowEnd - 1);

        pci.Write(VirtioSlot, 0x10, 4, 0xffff_ffff);
        pci.Write(VirtioSlot, 0x14, 4, 0xffff_ffff);
        Assert.Equal(0xffff_8004u, pci.Read(VirtioSlot, 0x10, 4));
        Assert.Equal(0xffff_ffffu, pci.Read(VirtioSlot, 0x14, 4));
        Assert.Equal(0xffffUL, rig.Bus.MmioRead(bar + 0x12, 2));

        pci.Write(VirtioSlot, 0x10, 4, low);
        pci.Write(VirtioSlot, 0x14, 4, high);
        Assert.Equal(1UL, rig.Bus.MmioRead(bar + 0x12, 2));
    }

    [Fact]
    public void A_relocated_bar_decodes_at_its_new_address_and_no_longer_at_the_old_one()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);
        ulong old = rig.Driver.Bar, moved = 0xd000_0000;

        pci.Write(VirtioSlot, 0x10, 4, (uint)moved);
        pci.Write(VirtioSlot, 0x14, 4, 0);

        Assert.Equal(moved, pci.Bar64(VirtioSlot, 0));
        Assert.Equal(1UL, rig.Bus.MmioRead(moved + 0x12, 2));
        long unclaimed = rig.Bus.UnclaimedMmioReads;
        Assert.Equal(0xffffUL, rig.Bus.MmioRead(old + 0x12, 2));
        Assert.Equal(unclaimed + 1, rig.Bus.UnclaimedMmioReads);

        // Above 4 GiB works too: the BAR is 64-bit.
        pci.Write(VirtioSlot, 0x14, 4, 0x10);
        Assert.Equal(1UL, rig.Bus.MmioRead(0x10_d000_0000 + 0x12, 2));
        Assert.Equal(0xffffUL, rig.Bus.MmioRead(moved + 0x12, 2));
    }

    [Fact]
    public void A_bar_moved_over_guest_ram_decodes_nothing_and_ram_is_untouched()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);

        pci.Write(VirtioSlot, 0x10, 4, 0x0010_0000);
        pci.Write(VirtioSlot, 0x14, 4, 0);

        Assert.False(rig.Bus.MmioOverlaps(0x0010_0000, 0x8000));
        pci.Write(VirtioSlot, 0x10, 4, 0xc000_0000);
        Assert.Equal(1UL, rig.Bus.MmioRead(0xc000_0000 + 0x12, 2));
    }

    [Fact]
    public void With_memory_decoding_off_bar_accesses_are_unclaimed()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);
        ulong bar = rig.Driver.Bar;
        uint command = pci.Read(VirtioSlot, 0x04, 2);
        Assert.Equal(2u, command & 2);

        pci.Write(VirtioSlot, 0x04, 2, command & ~2u);
        long reads = rig.Bus.UnclaimedMmioReads, writes = rig.Bus.UnclaimedMmioWrites;
        Assert.Equal(0xffUL, rig.Bus.MmioRead(bar + 0x14, 1));
        rig.Bus.MmioWrite(bar + 0x14, 1, 1);
        Assert.Equal((reads + 1, writes + 1), (rig.Bus.UnclaimedMmioReads, rig.Bus.UnclaimedMmioWrites));

        pci.Write(VirtioSlot, 0x04, 2, command);
        Assert.Equal(0UL, rig.Bus.MmioRead(bar + 0x14, 1));
    }

    [Fact]
    public void The_address_register_ignores_a_byte_write_to_0xcfb_and_reads_back_0x80000000_as_linux_probes_it()
    {
        using var rig = DeviceRig.Empty();
        rig.Bus.PortWrite(0xcf8, 4, 0x8000_0810);
        rig.Bus.PortWrite(0xcfb, 1, 0x01);
        Assert.Equal(0x8000_0810UL, rig.Bus.PortRead(0xcf8, 4));

        rig.Bus.PortWrite(0xcf8, 4, 0x8000_0000);
        Assert.Equal(0x8000_0000UL, rig.Bus.PortRead(0xcf8, 4));
        // Linux's sanity check then reads the class of 00:00.0 through 0xCFE.
        rig.Bus.PortWrite(0xcf8, 4, 0x8000_0008);
        Assert.Equal(0x0600UL, rig.Bus.PortRead(0xcfe, 2));
    }

    [Fact]
    public void Absent_slots_functions_and_buses_and_a_disabled_address_read_all_ones()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);
        Assert.Equal(0xffff_ffffu, pci.Read(7, 0, 4));
        Assert.Equal(0xffffu, pci.Read(0, 0, 2, function: 1));
        Assert.Equal(0xffff_ffffu, pci.Read(VirtioSlot, 0, 4, function: 3));
        Assert.Equal(0xffu, pci.Read(0, 0, 1, busNumber: 1));

        rig.Bus.PortWrite(0xcf8, 4, 0x0000_0800);
        Assert.Equal(0xffff_ffffUL, rig.Bus.PortRead(0xcfc, 4));
    }

    [Fact]
    public void The_guest_cannot_change_read_only_fields()
    {
        using var rig = DeviceRig.WithRawDisk();
        var pci = new PciConfigPorts(rig.Bus);
        pci.Write(VirtioSlot, 0x00, 4, 0x1234_5678);
        pci.Write(VirtioSlot, 0x08, 4, 0xffff_ffff);
        pci.Write(VirtioSlot, 0x34, 1, 0);
        Assert.Equal(0x1042_1af4u, pci.Read(VirtioSlot, 0x00, 4));
        Assert.Equal(1u, pci.Read(VirtioSlot, 0x08, 1));
        Assert.NotEqual(0u, pci.Read(VirtioSlot, 0x34, 1));
        // Unused BARs and the expansion ROM size to nothing.
        pci.Write(VirtioSlot, 0x18, 4, 0xffff_ffff);
        pci.Write(VirtioSlot, 0x30, 4, 0xffff_f800);
        Assert.Equal((0u, 0u), (pci.Read(VirtioSlot, 0x18, 4), pci.Read(VirtioSlot, 0x30, 4)));
    }

    [Fact]
    public void Two_functions_can_swap_their_bars()
    {
        using var dir = new Storage.ScratchDir();
        using var rig = DeviceRig.WithRawDisk(dir: dir);
        string second = dir.File("second.raw");
        using (var f = File.Create(second)) f.SetLength(1 << 20);
        rig.Devices.AddDisks([new Cluster.Vmm.Machine.DiskConfig(second, Serial: "second")], 2);
        var pci = new PciConfigPorts(rig.Bus);
        ulong a = pci.Bar64(1, 0), b = pci.Bar64(2, 0);
        Assert.Equal((1UL, 2UL), (rig.Bus.MmioRead(a + 0x12, 2), rig.Bus.MmioRead(b + 0x12, 2)));

        pci.Write(1, 0x10, 4, (uint)b);
        Assert.Equal(2UL, rig.Bus.MmioRead(b + 0x12, 2));
        pci.Write(2, 0x10, 4, (uint)a);

        Assert.Equal((a, b), (pci.Bar64(2, 0), pci.Bar64(1, 0)));
        Assert.Equal((2UL, 1UL), (rig.Bus.MmioRead(a + 0x12, 2), rig.Bus.MmioRead(b + 0x12, 2)));
    }

    [Fact]
    public void Functions_that_share_an_intx_line_keep_it_raised_until_both_lower_it()
    {
        using var rig = DeviceRig.Empty();
        var router = rig.Devices.Intx;
        var one = router.Connect(1);
        var five = router.Connect(5);
        Assert.Equal(one.Gsi, five.Gsi);
        one.Set(true);
        five.Set(true);
        one.Set(false);
        Assert.True(rig.Vm.IrqChanges[^1].Level);
        five.Set(false);
        Assert.Equal((one.Gsi, false), rig.Vm.IrqChanges[^1]);
        Assert.Contains(router.Routes, r => r.Slot == 5 && r.Pin == 1 && r.Gsi == five.Gsi);
    }
}
