using Cluster.Vmm.Devices;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Tests.Devices.VirtioBlock;
using Cluster.Vmm.Tests.Storage;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Cluster.Vmm.Tests.Devices.VirtioBlock.VirtioBlockDeviceTests;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Devices;

public class DeviceManagerTests
{
    private static byte[] Pattern(int sectors, byte seed)
    {
        var b = new byte[sectors * 512];
        for (int i = 0; i < b.Length; i++) b[i] = (byte)(seed + i / 512);
        return b;
    }

    [Fact]
    public void Pause_returns_only_once_the_request_in_flight_completed_into_guest_memory()
    {
        var image = new MemoryDiskImage(1 << 20);
        using var started = new SemaphoreSlim(0);
        using var gate = new ManualResetEventSlim();
        image.BeforeRead = (_, _) =>
        {
            started.Release();
            gate.Wait(TimeSpan.FromSeconds(10));
        };
        using var rig = DeviceRig.WithImage(image);
        rig.Driver.Initialize(All);
        var q = rig.Driver.Queues[0];
        BlockRequest.Submit(q, BlockRequest.In, 0, inLength: 512);
        BlockRequest.Submit(q, BlockRequest.In, 1, inLength: 512);
        Assert.True(started.Wait(TimeSpan.FromSeconds(5)));

        using var paused = new ManualResetEventSlim();
        new Thread(() => { rig.Devices.Pause(); paused.Set(); }).Start();
        Assert.False(paused.Wait(100), "Pause returned while a request was in flight");
        gate.Set();
        Assert.True(paused.Wait(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, q.DeviceUsedIdx);
        Thread.Sleep(50);
        Assert.Equal(1, q.DeviceUsedIdx);

        rig.Devices.Resume();
        q.WaitUsed(2);
    }

    [Fact]
    public void Notifications_during_a_pause_are_served_after_resume()
    {
        using var rig = DeviceRig.WithRawDisk();
        rig.Driver.Initialize(All);
        var q = rig.Driver.Queues[0];
        rig.Devices.Pause();
        var r = BlockRequest.Submit(q, BlockRequest.In, 0, inLength: 512);
        Thread.Sleep(100);
        Assert.Equal(0, q.DeviceUsedIdx);
        rig.Devices.Resume();
        Assert.Equal(r.Head, q.WaitOne().Id);
    }

    [Fact]
    public void A_device_activated_while_paused_waits_for_resume()
    {
        using var rig = DeviceRig.WithRawDisk();
        rig.Devices.Pause();
        rig.Driver.Initialize(All);
        var q = rig.Driver.Queues[0];
        BlockRequest.Submit(q, BlockRequest.In, 0, inLength: 512);
        Thread.Sleep(50);
        Assert.Equal(0, q.DeviceUsedIdx);
        rig.Devices.Resume();
        q.WaitOne();
    }

    [Fact]
    public void Restored_state_continues_a_queue_mid_stream_on_a_second_device_manager_without_serving_a_request_twice()
    {
        using var dir = new ScratchDir();
        IReadOnlyList<DeviceSection> sections;
        var memory = new byte[DeviceRig.MemoryBytes];
        VirtioTestDriver driver;
        ulong mark;
        using (var a = DeviceRig.WithRawDisk(size: 1 << 20, msi: true, dir: dir))
        {
            driver = a.Driver;
            driver.Initialize(All, msix: true);
            var q = driver.Queues[0];
            for (int i = 0; i < 3; i++)
            {
                BlockRequest.Submit(q, BlockRequest.Out, (ulong)i, Pattern(1, (byte)(10 * i)));
                q.WaitOne();
            }
            a.Devices.Pause();
            BlockRequest.Submit(q, BlockRequest.Out, 3, Pattern(1, 30));
            Thread.Sleep(20);
            sections = a.Devices.SaveState();
            Assert.Equal(3, a.Devices.Counters()["virtio-blk0"]["writes"]);
            a.Memory.Read(0, memory);
            mark = a.Allocator.Mark;
        }

        using var b = DeviceRig.WithRawDisk(size: 1 << 20, msi: true, dir: dir);
        b.Memory.Write(0, memory);
        b.Allocator.Release(mark);
        b.Devices.RestoreState(sections);
        b.Devices.Resume(); // restored devices wait for the machine to start
        driver.Rebind(b.Bus, b.Memory, b.Allocator);
        var q2 = driver.Queues[0];

        q2.WaitOne();
        var read = BlockRequest.Submit(q2, BlockRequest.In, 0, inLength: 4 * 512);
        Assert.Equal(read.Head, q2.WaitOne().Id);
        Assert.Equal([.. Pattern(1, 0), .. Pattern(1, 10), .. Pattern(1, 20), .. Pattern(1, 30)], read.ReadData(b.Memory));
        b.Quiesce();
        Assert.Equal((ushort)5, q2.DeviceUsedIdx);
        var counters = b.Devices.Counters()["virtio-blk0"];
        Assert.Equal((1L, 1L, 2L), (counters["writes"], counters["reads"], counters["chains"]));
        Assert.Contains((0xfee0_0000UL, 0x41u), Msis(b));
        Assert.Equal(driver.Bar, new PciConfigPorts(b.Bus).Bar64(driver.Slot, 0));
    }

    [Fact]
    public void Restored_state_keeps_a_moved_bar_a_pending_intx_and_a_device_that_needs_a_reset()
    {
        using var dir = new ScratchDir();
        IReadOnlyList<DeviceSection> sections;
        var memory = new byte[DeviceRig.MemoryBytes];
        VirtioTestDriver driver;
        ulong mark;
        const ulong moved = 0xe000_0000;
        using (var a = DeviceRig.WithRawDisk(dir: dir))
        {
            driver = a.Driver;
            driver.Initialize(All, queueSize: 8);
            driver.Pci.Write(driver.Slot, 0x10, 4, (uint)moved);
            driver.Queues[0].PushAvail(99);
            driver.Bus.MmioWrite(moved + driver.Notify, 2, 0);
            WaitFor(() => (a.Transport.Status & VirtioTestDriver.NeedsReset) != 0, "no DEVICE_NEEDS_RESET");
            a.Devices.Pause();
            sections = a.Devices.SaveState();
            a.Memory.Read(0, memory);
            mark = a.Allocator.Mark;
        }

        using var b = DeviceRig.WithRawDisk(dir: dir);
        b.Memory.Write(0, memory);
        b.Allocator.Release(mark);
        b.Devices.RestoreState(sections);
        b.Devices.Resume();
        int gsi = b.Devices.Intx.GsiFor(driver.Slot);
        Assert.Equal((gsi, true), Changes(b)[^1]);
        Assert.False(b.Bus.MmioOverlaps(0xc000_0000, 0x8000));
        Assert.Equal(0x44, (int)b.Bus.MmioRead(moved + 0x14, 1) & 0x44);

        var fresh = VirtioTestDriver.Find(b.Bus, b.Memory, b.Allocator);
        Assert.Equal(moved, fresh.Bar);
        Assert.Equal(2, fresh.ReadIsr());
        Assert.Equal((gsi, false), Changes(b)[^1]);
        fresh.Initialize(All);
        var r = BlockRequest.Submit(fresh.Queues[0], BlockRequest.In, 0, inLength: 512);
        fresh.Queues[0].WaitOne();
        Assert.Equal(BlockRequest.Ok, r.Status(b.Memory));
    }

    [Fact]
    public void Device_writes_into_guest_memory_are_in_the_dirty_log()
    {
        using var rig = DeviceRig.WithRawDisk(contents: Pattern(64, 1));
        var d = rig.Driver;
        d.Initialize(All);
        var q = d.Queues[0];
        q.AutoUsedEvent = false;
        rig.Vm.SetUserMemoryRegion(0, 0, rig.Host, Cluster.Vmm.Memory.MemoryRegionFlags.LogDirtyPages);
        rig.Devices.Pause();
        var r = BlockRequest.Submit(q, BlockRequest.In, 0, inLength: 3 * 4096, segments: 3);
        rig.Vm.GetDirtyLog(0);
        long dma = rig.Transport.Device.DmaBytesWritten;
        rig.Devices.Resume();
        WaitFor(() => q.DeviceUsedIdx == 1, "the request did not complete");
        rig.Quiesce();

        var dirty = rig.Vm.GetDirtyLog(0).DirtyPages().ToHashSet();
        var expected = new HashSet<ulong> { q.Used / 4096, r.StatusAddress / 4096 };
        foreach (var b in r.Data)
            for (ulong p = b.Address / 4096; p <= (b.Address + b.Length - 1) / 4096; p++) expected.Add(p);
        Assert.Equal(expected.Order(), dirty.Order());
        Assert.Equal(dma + 3 * 4096 + 1, rig.Transport.Device.DmaBytesWritten);
    }

    [Fact]
    public void A_section_of_another_version_is_refused_naming_both_versions()
    {
        using var dir = new ScratchDir();
        List<DeviceSection> sections;
        using (var a = DeviceRig.WithRawDisk(dir: dir))
            sections = [.. a.Devices.SaveState()];
        int i = sections.FindIndex(s => s.Name == "virtio-blk0");
        int version = sections[i].Version;
        sections[i] = sections[i] with { Version = version + 41 };

        using var b = DeviceRig.WithRawDisk(dir: dir);
        var e = Assert.Throws<VmmException>(() => b.Devices.RestoreState(sections));
        Assert.Contains("virtio-blk0", e.Message);
        Assert.Contains($"version {version + 41}", e.Message);
        Assert.Contains($"version {version}", e.Message);
    }

    [Fact]
    public void Missing_extra_and_duplicate_sections_are_refused()
    {
        using var dir = new ScratchDir();
        List<DeviceSection> sections;
        using (var a = DeviceRig.WithRawDisk(dir: dir))
            sections = [.. a.Devices.SaveState()];
        Assert.Equal(["uart0", "exit", "virtio-blk0"], sections.Select(s => s.Name));

        using var b = DeviceRig.WithRawDisk(dir: dir);
        var missing = Assert.Throws<VmmException>(() => b.Devices.RestoreState(sections.Where(s => s.Name != "virtio-blk0").ToList()));
        Assert.Contains("virtio-blk0", missing.Message);
        var extra = Assert.Throws<VmmException>(() => b.Devices.RestoreState([.. sections, new DeviceSection("virtio-net0", 1, [])]));
        Assert.Contains("virtio-net0", extra.Message);
        var twice = Assert.Throws<VmmException>(() => b.Devices.RestoreState([.. sections, sections[0]]));
        Assert.Contains("twice", twice.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(255)]
    [InlineData(300)]
    [InlineData(-1)]
    public void A_truncated_or_garbled_device_section_is_refused_with_a_vmm_error(int keep)
    {
        using var dir = new ScratchDir();
        List<DeviceSection> sections;
        using (var a = DeviceRig.WithRawDisk(dir: dir, msi: true))
        {
            a.Driver.Initialize(All, msix: true);
            sections = [.. a.Devices.SaveState()];
        }
        int i = sections.FindIndex(s => s.Name == "virtio-blk0");
        var data = sections[i].Data;
        if (keep >= 0) data = data[..keep];
        else
        {
            // A length field past the PCI space, the transport registers and the queue (MSI-X length) set negative.
            data = (byte[])data.Clone();
            int msixAt = 256 + 4 + 4 + 8 + 1 + 1 + 1 + 2 + 2 + 4 + (2 + 1 + 2 + 8 + 8 + 8 + 2 + 2 + 2);
            BitConverter.GetBytes(-5).CopyTo(data, msixAt);
        }
        sections[i] = sections[i] with { Data = data };

        using var b = DeviceRig.WithRawDisk(dir: dir, msi: true);
        Assert.Throws<VmmException>(() => b.Devices.RestoreState(sections));
    }

    [Fact]
    public void Two_disks_get_their_own_slots_bars_names_and_serials()
    {
        using var dir = new ScratchDir();
        var paths = new[] { dir.File("a.raw"), dir.File("b.raw") };
        foreach (var p in paths) using (var f = File.Create(p)) f.SetLength(64 << 10);
        var hv = new FakeHypervisor();
        var vm = (FakeVm)hv.CreateVm();
        using var host = Cluster.Vmm.Memory.HostMemory.Allocate(DeviceRig.MemoryBytes);
        vm.SetUserMemoryRegion(0, 0, host, Cluster.Vmm.Memory.MemoryRegionFlags.None);
        using var devices = new DeviceManager(vm, DeviceRig.MemoryBytes);
        devices.AddDisks([new DiskConfig(paths[0]), new DiskConfig(paths[1], ReadOnly: true)], 2);

        Assert.Equal(["uart0", "exit", "pci-host", "virtio-blk0", "virtio-blk1"], devices.Devices.Select(d => d.Name));
        var pci = new PciConfigPorts(devices.Bus);
        Assert.Equal((0x1042_1af4u, 0x1042_1af4u), (pci.Read(1, 0, 4), pci.Read(2, 0, 4)));
        ulong bar1 = pci.Bar64(1, 0), bar2 = pci.Bar64(2, 0);
        Assert.True(bar1 + 0x8000 <= bar2 || bar2 + 0x8000 <= bar1);
        Assert.Equal([true, false], devices.Disks.Select(d => d.Image.ReadOnly == false));
        Assert.Equal(2, devices.Disks.Count());
    }

    [Fact]
    public void Disks_added_later_are_numbered_after_the_first_ones_and_take_the_next_slots()
    {
        using var dir = new ScratchDir();
        var vm = (FakeVm)new FakeHypervisor().CreateVm();
        using var devices = new DeviceManager(vm, DeviceRig.MemoryBytes);
        for (int i = 0; i < 28; i++)
        {
            string path = dir.File($"d{i}.raw");
            using (var f = File.Create(path)) f.SetLength(4096);
            devices.AddDisks([new DiskConfig(path)], 1);
        }
        var names = devices.Disks.Select(d => d.Name).ToList();
        Assert.Equal(Enumerable.Range(0, 28).Select(i => $"virtio-blk{i}"), names);
        Assert.Equal(Enumerable.Range(1, 28), devices.Devices.OfType<Cluster.Vmm.Devices.Pci.PciFunction>().Skip(1).Select(f => devices.Pci.Slots.ToList().IndexOf(f)));
    }

    [Fact]
    public void Disposing_the_device_manager_closes_the_images()
    {
        using var rig = DeviceRig.WithRawDisk();
        var locked = Assert.Throws<VmmException>(() => DiskImage.Open(rig.ImagePath!, null, readOnly: false, DiskCacheMode.Writeback));
        Assert.Contains(rig.ImagePath!, locked.Message);
        rig.Devices.Dispose();
        DiskImage.Open(rig.ImagePath!, null, readOnly: false, DiskCacheMode.Writeback).Dispose();
    }

    [Fact]
    public void A_disk_that_cannot_be_opened_is_refused_naming_it()
    {
        using var dir = new ScratchDir();
        var vm = (FakeVm)new FakeHypervisor().CreateVm();
        using var devices = new DeviceManager(vm, DeviceRig.MemoryBytes);
        var e = Assert.Throws<VmmException>(() => devices.AddDisks([new DiskConfig(dir.File("missing.raw"))], 1));
        Assert.Contains("missing.raw", e.Message);
    }

    [Fact]
    public void A_machine_with_a_disk_lists_the_device_and_its_counters_and_closes_the_image_on_dispose()
    {
        using var dir = new ScratchDir();
        string path = dir.File("machine.raw");
        using (var f = File.Create(path)) f.SetLength(1 << 20);

        var machine = VmMachine.Create(new EmulatedHypervisor(), new MachineConfig { Image = new BuiltInGuestImage("hello"), Disks = [new DiskConfig(path)] });
        try
        {
            Assert.Contains(machine.Devices.Devices, d => d.Name == "virtio-blk0");
            var counters = machine.Devices.Counters()["virtio-blk0"];
            Assert.Equal(0, counters["reads"]);
            Assert.Contains("chains", counters.Keys);
            var blk = Assert.Single(machine.Devices.Disks);
            Assert.Equal(path, blk.Image.Path);
            Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback));
        }
        finally
        {
            machine.Dispose();
        }
        DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback).Dispose();
    }

    [Fact]
    public void A_machine_snapshot_carries_the_disk_section_through_its_bytes_into_a_second_machine()
    {
        using var dir = new ScratchDir();
        string path = dir.File("machine.raw");
        using (var f = File.Create(path)) f.SetLength(1 << 20);
        var config = new MachineConfig { Image = new BuiltInGuestImage("hello"), Disks = [new DiskConfig(path)] };
        byte[] bytes;
        using (var a = VmMachine.Create(new EmulatedHypervisor(), config))
            bytes = a.SaveState().ToBytes();

        var snapshot = MachineSnapshot.FromBytes(bytes);
        var section = Assert.Single(snapshot.Devices, s => s.Name == "virtio-blk0");
        using var b = VmMachine.Create(new EmulatedHypervisor(), config);
        b.RestoreState(snapshot);
        Assert.Equal(section.Version, ((ISnapshottable)b.Devices.Devices.Single(d => d.Name == "virtio-blk0")).StateVersion);
    }
}
