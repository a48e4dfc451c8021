using System.Buffers.Binary;
using System.Diagnostics;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Cluster.Vmm.Tests.Devices.VirtioBlock.VirtioBlockDeviceTests;

namespace Cluster.Vmm.Tests.Devices.Virtio;

/// <summary>The I/O threads of a virtio device under load: several queues driven from their own
/// threads with notification suppression, interrupts waited for rather than polled, pauses and resets
/// in the middle.</summary>
public class VirtioDeviceTests
{
    private const int RegionSectors = 64;

    private static byte[] Stamp(int queue, int seq)
    {
        var b = new byte[512];
        BinaryPrimitives.WriteInt32LittleEndian(b, queue);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), seq);
        b[511] = (byte)(queue ^ seq);
        return b;
    }

    [Fact]
    public void Queues_driven_concurrently_with_event_index_and_pauses_lose_no_request()
    {
        const int queues = 4, perQueue = 400, depth = 8;
        var image = new MemoryDiskImage((ulong)queues * RegionSectors * 512);
        using var rig = DeviceRig.WithImage(image, queues: queues);
        rig.Driver.Initialize(All, queues: queues, queueSize: 32);
        var done = new CountdownEvent(queues);
        var errors = new List<string>();
        var lastStamp = new int[queues, RegionSectors];
        foreach (int qi in Enumerable.Range(0, queues)) for (int s = 0; s < RegionSectors; s++) lastStamp[qi, s] = -1;

        var threads = Enumerable.Range(0, queues).Select(qi => new Thread(() =>
        {
            try
            {
                var q = rig.Driver.Queues[qi];
                var random = new Random(qi);
                int inFlight = 0, submitted = 0;
                var sw = Stopwatch.StartNew();
                while (submitted < perQueue || inFlight > 0)
                {
                    if (sw.Elapsed > TimeSpan.FromSeconds(20))
                        throw new TimeoutException($"queue {qi}: {submitted} submitted, {inFlight} in flight, used idx {q.DeviceUsedIdx}, avail {q.AvailIdx}");
                    while (submitted < perQueue && inFlight < depth)
                    {
                        ushort before = q.AvailIdx;
                        int sector = random.Next(RegionSectors);
                        BlockRequest.Submit(q, BlockRequest.Out, (ulong)(qi * RegionSectors + sector), Stamp(qi, submitted),
                            indirect: random.Next(2) == 0, kick: false);
                        lastStamp[qi, sector] = submitted;
                        submitted++;
                        inFlight++;
                        q.KickIfNeeded(before);
                    }
                    while (q.TryTakeUsed(out _)) inFlight--;
                    Thread.Yield();
                }
            }
            catch (Exception e)
            {
                lock (errors) errors.Add(e.Message);
            }
            finally
            {
                done.Signal();
            }
        }) { IsBackground = true }).ToList();
        var pauser = new Thread(() =>
        {
            var random = new Random(99);
            while (!done.IsSet)
            {
                rig.Devices.Pause();
                Thread.SpinWait(random.Next(1000));
                rig.Devices.Resume();
                Thread.Sleep(random.Next(2));
            }
        }) { IsBackground = true };
        threads.ForEach(t => t.Start());
        pauser.Start();
        Assert.True(done.Wait(TimeSpan.FromSeconds(30)), "the driver threads did not finish");
        Assert.True(pauser.Join(TimeSpan.FromSeconds(5)));
        Assert.Empty(errors);

        for (int qi = 0; qi < queues; qi++)
            for (int s = 0; s < RegionSectors; s++)
            {
                int seq = lastStamp[qi, s];
                Assert.Equal(seq < 0 ? new byte[512] : Stamp(qi, seq), image.Bytes.AsSpan((qi * RegionSectors + s) * 512, 512).ToArray());
            }
        Assert.Equal(queues * perQueue, rig.Devices.Counters()["virtio-blk0"]["writes"]);
    }

    [Fact]
    public void A_driver_that_sleeps_until_its_interrupt_is_always_woken_under_event_index()
    {
        const int queues = 2, rounds = 300;
        using var rig = DeviceRig.WithImage(new MemoryDiskImage(1 << 20), msi: true, queues: queues);
        rig.Driver.Initialize(All, queues: queues, msix: true);
        var errors = new List<string>();
        var threads = Enumerable.Range(0, queues).Select(qi => new Thread(() =>
        {
            try
            {
                var q = rig.Driver.Queues[qi];
                uint data = 0x41u + (uint)qi;
                for (int i = 0; i < rounds; i++)
                {
                    int before = CountMsis(rig, data);
                    ushort avail = q.AvailIdx;
                    BlockRequest.Submit(q, BlockRequest.In, (ulong)i % 64, inLength: 512, kick: false);
                    q.KickIfNeeded(avail);
                    var sw = Stopwatch.StartNew();
                    while (CountMsis(rig, data) == before)
                    {
                        if (sw.Elapsed > TimeSpan.FromSeconds(5)) throw new TimeoutException($"queue {qi}: no interrupt for request {i} (used idx {q.DeviceUsedIdx})");
                        Thread.Yield();
                    }
                    q.WaitOne();
                }
            }
            catch (Exception e)
            {
                lock (errors) errors.Add(e.Message);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));
        Assert.Empty(errors);
    }

    private static int CountMsis(DeviceRig rig, uint data)
    {
        lock (rig.Vm.Msis!) return rig.Vm.Msis.Count(m => m.Data == data);
    }

    [Fact]
    public void Repeated_resets_with_requests_queued_never_hang_and_the_device_keeps_working()
    {
        using var rig = DeviceRig.WithRawDisk(size: 1 << 20);
        var d = rig.Driver;
        var sw = Stopwatch.StartNew();
        for (int round = 0; round < 30; round++)
        {
            ulong mark = rig.Allocator.Mark;
            d.Initialize(All, queueSize: 32);
            var q = d.Queues[0];
            for (int i = 0; i < 16; i++) BlockRequest.Submit(q, i % 2 == 0 ? BlockRequest.In : BlockRequest.Out, (ulong)i,
                i % 2 == 0 ? null : new byte[4096], inLength: 4096, indirect: true, kick: i % 4 == 0);
            Thread.SpinWait(round * 50);
            d.Reset();
            ushort used = q.DeviceUsedIdx;
            Thread.Sleep(1);
            Assert.Equal(used, q.DeviceUsedIdx);
            rig.Allocator.Release(mark);
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"30 resets took {sw.Elapsed}");
        d.Initialize(All);
        var r = BlockRequest.Submit(d.Queues[0], BlockRequest.In, 0, inLength: 512);
        d.Queues[0].WaitOne();
        Assert.Equal(BlockRequest.Ok, r.Status(rig.Memory));
    }

    [Fact]
    public void An_intx_driver_that_waits_for_the_line_never_misses_a_completion()
    {
        const int total = 3000, depth = 3;
        using var rig = DeviceRig.WithImage(new MemoryDiskImage(1 << 20));
        int gsi = rig.Devices.Intx.GsiFor(rig.Driver.Slot);
        rig.Driver.Initialize(Basic, queueSize: 16);
        var q = rig.Driver.Queues[0];
        int submitted = 0, completed = 0;
        while (completed < total)
        {
            while (submitted < total && submitted - completed < depth)
            {
                BlockRequest.Submit(q, BlockRequest.In, (ulong)(submitted % 64), inLength: 512, kick: true);
                submitted++;
            }
            var sw = Stopwatch.StartNew();
            while (!LineLevel(rig, gsi))
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(5))
                    Assert.Fail($"the line stayed low with {submitted - completed} requests in flight, used idx {q.DeviceUsedIdx}, {completed} taken");
                Thread.Yield();
            }
            // The interrupt handler: read (and so acknowledge) the ISR, then take what was used.
            rig.Driver.ReadIsr();
            while (q.TryTakeUsed(out _)) completed++;
        }
    }

    private static bool LineLevel(DeviceRig rig, int gsi)
    {
        lock (rig.Vm.IrqChanges)
            for (int i = rig.Vm.IrqChanges.Count - 1; i >= 0; i--)
                if (rig.Vm.IrqChanges[i].Irq == gsi) return rig.Vm.IrqChanges[i].Level;
        return false;
    }

    [Fact]
    public void Toggling_driver_ok_neither_starts_the_queues_twice_nor_piles_up_threads()
    {
        using var rig = DeviceRig.WithImage(new MemoryDiskImage(1 << 20));
        var d = rig.Driver;
        d.Initialize(All);
        int threads = Process.GetCurrentProcess().Threads.Count;
        for (int i = 0; i < 300; i++)
        {
            d.Status = VirtioTestDriver.Acknowledge | VirtioTestDriver.Driver | VirtioTestDriver.FeaturesOk;
            d.Status = VirtioTestDriver.Acknowledge | VirtioTestDriver.Driver | VirtioTestDriver.FeaturesOk | VirtioTestDriver.DriverOk;
        }
        Assert.True(Process.GetCurrentProcess().Threads.Count - threads < 100, "threads piled up");
        Assert.Equal(VirtioTestDriver.DriverOk, d.Status & VirtioTestDriver.DriverOk);
        var q = d.Queues[0];
        for (int i = 0; i < 50; i++) BlockRequest.Submit(q, BlockRequest.In, 0, inLength: 512, indirect: true);
        q.WaitUsed(50);
        rig.Quiesce();
        Assert.Equal(50, q.DeviceUsedIdx);
        Assert.Equal(50, rig.Devices.Counters()["virtio-blk0"]["reads"]);
    }

    [Fact]
    public void Driver_ok_before_features_ok_does_not_stick()
    {
        using var rig = DeviceRig.WithRawDisk();
        var d = rig.Driver;
        d.Reset();
        d.Status = VirtioTestDriver.Acknowledge | VirtioTestDriver.Driver;
        d.WriteDriverFeatures(All);
        d.Status = VirtioTestDriver.Acknowledge | VirtioTestDriver.Driver | VirtioTestDriver.DriverOk;
        Assert.Equal(0, d.Status & VirtioTestDriver.DriverOk);
    }

    [Fact]
    public void A_vm_that_refuses_an_interrupt_gets_a_device_that_needs_a_reset_not_a_dead_process()
    {
        using var rig = DeviceRig.WithRawDisk(msi: true);
        rig.Driver.Initialize(All, msix: true);
        var msis = rig.Vm.Msis;
        rig.Vm.Msis = null;
        BlockRequest.Submit(rig.Driver.Queues[0], BlockRequest.In, 0, inLength: 512);
        WaitFor(() => (rig.Driver.Status & VirtioTestDriver.NeedsReset) != 0, "no DEVICE_NEEDS_RESET");
        Assert.Contains("VmmException", rig.Transport.NeedsResetReason);

        rig.Vm.Msis = msis;
        rig.Driver.Initialize(All, msix: true);
        BlockRequest.Submit(rig.Driver.Queues[0], BlockRequest.In, 0, inLength: 512);
        rig.Driver.Queues[0].WaitOne();
    }
}
