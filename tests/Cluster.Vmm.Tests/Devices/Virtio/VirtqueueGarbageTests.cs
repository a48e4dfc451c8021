using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Cluster.Vmm.Tests.Devices.VirtioBlock.VirtioBlockDeviceTests;
using static Cluster.Vmm.Tests.TestUtils.VirtioTestDriver;

namespace Cluster.Vmm.Tests.Devices.Virtio;

/// <summary>A guest that writes garbage into its rings gets DEVICE_NEEDS_RESET (and a config interrupt),
/// never a crash, a hang or an access outside its memory; after a reset the device works again.</summary>
public class VirtqueueGarbageTests
{
    private const ushort Next = 1, Write = 2, Indirect = 4;

    /// <summary>Writes a malformed request into queue 0 (of 8 entries) and makes it available.</summary>
    private static readonly Dictionary<string, Action<DeviceRig, TestQueue>> Cases = new()
    {
        ["descriptor loop"] = (rig, q) =>
        {
            var (header, data, _) = Buffers(rig);
            q.WriteDescriptor(0, header, 16, Next, 1);
            q.WriteDescriptor(1, data, 512, Next | Write, 0);
            q.PushAvail(0);
        },
        ["chain through every descriptor and on"] = (rig, q) =>
        {
            var (header, data, _) = Buffers(rig);
            q.WriteDescriptor(0, header, 16, Next, 1);
            for (ushort i = 1; i < q.Size; i++) q.WriteDescriptor(i, data, 1, Next | Write, (ushort)((i + 1) % q.Size));
            q.PushAvail(0);
        },
        ["next index out of range"] = (rig, q) =>
        {
            var (header, _, _) = Buffers(rig);
            q.WriteDescriptor(0, header, 16, Next, 200);
            q.PushAvail(0);
        },
        ["buffer across the end of guest memory"] = (rig, q) => Request(rig, q, DeviceRig.MemoryBytes - 256, 512),
        ["buffer far outside guest memory"] = (rig, q) => Request(rig, q, 0x40_0000_0000, 512),
        ["buffer that wraps the address space"] = (rig, q) => Request(rig, q, ulong.MaxValue - 100, 512),
        ["header outside guest memory"] = (rig, q) =>
        {
            var (_, _, status) = Buffers(rig);
            q.WriteDescriptor(0, DeviceRig.MemoryBytes + 4096, 16, Next, 1);
            q.WriteDescriptor(1, status, 1, Write, 0);
            q.PushAvail(0);
        },
        ["nested indirect table"] = (rig, q) =>
        {
            var (header, _, status) = Buffers(rig);
            ulong inner = rig.Allocator.Allocate(32, 16), outer = rig.Allocator.Allocate(32, 16);
            q.WriteDescriptorAt(inner, header, 16, Next, 1);
            q.WriteDescriptorAt(inner + 16, status, 1, Write, 0);
            q.WriteDescriptorAt(outer, header, 16, Next, 1);
            q.WriteDescriptorAt(outer + 16, inner, 32, Indirect, 0);
            q.WriteDescriptor(0, outer, 32, Indirect, 0);
            q.PushAvail(0);
        },
        ["indirect table of odd length"] = (rig, q) =>
        {
            var (header, _, status) = Buffers(rig);
            ulong table = rig.Allocator.Allocate(48, 16);
            q.WriteDescriptorAt(table, header, 16, Next, 1);
            q.WriteDescriptorAt(table + 16, status, 1, Write, 0);
            q.WriteDescriptor(0, table, 24, Indirect, 0);
            q.PushAvail(0);
        },
        ["empty indirect table"] = (rig, q) =>
        {
            q.WriteDescriptor(0, rig.Allocator.Allocate(16, 16), 0, Indirect, 0);
            q.PushAvail(0);
        },
        ["indirect table with a loop"] = (rig, q) =>
        {
            var (header, data, _) = Buffers(rig);
            ulong table = rig.Allocator.Allocate(48, 16);
            q.WriteDescriptorAt(table, header, 16, Next, 1);
            q.WriteDescriptorAt(table + 16, data, 512, Next | Write, 2);
            q.WriteDescriptorAt(table + 32, data, 512, Next | Write, 1);
            q.WriteDescriptor(0, table, 48, Indirect, 0);
            q.PushAvail(0);
        },
        ["indirect table outside guest memory"] = (rig, q) =>
        {
            q.WriteDescriptor(0, DeviceRig.MemoryBytes - 16, 64, Indirect, 0);
            q.PushAvail(0);
        },
        ["indirect descriptor with next set"] = (rig, q) =>
        {
            var (header, _, status) = Buffers(rig);
            ulong table = rig.Allocator.Allocate(32, 16);
            q.WriteDescriptorAt(table, header, 16, Next, 1);
            q.WriteDescriptorAt(table + 16, status, 1, Write, 0);
            q.WriteDescriptor(0, table, 32, Indirect | Next, 1);
            q.WriteDescriptor(1, status, 1, Write, 0);
            q.PushAvail(0);
        },
        ["head index out of range"] = (rig, q) => q.PushAvail((ushort)(q.Size + 3)),
        ["avail index jumping past the queue size"] = (rig, q) => q.SetAvailIdx((ushort)(q.AvailIdx + q.Size + 1)),
        ["readable buffer after a writable one"] = (rig, q) =>
        {
            var (header, data, status) = Buffers(rig);
            q.WriteDescriptor(0, header, 16, Next, 1);
            q.WriteDescriptor(1, data, 512, Next | Write, 2);
            q.WriteDescriptor(2, data, 512, Next, 3);
            q.WriteDescriptor(3, status, 1, Write, 0);
            q.PushAvail(0);
        },
        ["no room for the header"] = (rig, q) =>
        {
            var (header, _, status) = Buffers(rig);
            q.WriteDescriptor(0, header, 8, Next, 1);
            q.WriteDescriptor(1, status, 1, Write, 0);
            q.PushAvail(0);
        },
        ["no writable byte for the status"] = (rig, q) =>
        {
            var (header, _, _) = Buffers(rig);
            q.WriteDescriptor(0, header, 16, 0, 0);
            q.PushAvail(0);
        },
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    private static (ulong Header, ulong Data, ulong Status) Buffers(DeviceRig rig) =>
        (rig.Allocator.Allocate(16, 8), rig.Allocator.Allocate(512, 8), rig.Allocator.Allocate(1, 1));

    /// <summary>An IN request of <paramref name="length"/> bytes into the buffer at <paramref name="data"/>.</summary>
    private static void Request(DeviceRig rig, TestQueue q, ulong data, uint length)
    {
        var (header, _, status) = Buffers(rig);
        q.WriteDescriptor(0, header, 16, Next, 1);
        q.WriteDescriptor(1, data, length, Next | Write, 2);
        q.WriteDescriptor(2, status, 1, Write, 0);
        q.PushAvail(0);
    }

    private static void AssertNeedsResetThenRecovers(DeviceRig rig, bool msix)
    {
        var d = rig.Driver;
        WaitFor(() => (d.Status & NeedsReset) != 0, $"no DEVICE_NEEDS_RESET (status 0x{d.Status:x2})");
        string? reason = rig.Transport.NeedsResetReason;
        Assert.NotNull(reason);
        // A rule the queue checks, not a fault from touching memory outside the guest.
        Assert.DoesNotContain("Exception", reason);
        Assert.DoesNotContain("not backed", reason);
        if (msix) WaitFor(() => Msis(rig).Contains((0xfee0_0000UL, 0x40u)), "no config interrupt");
        else Assert.Equal(2, d.ReadIsr() & 2);
        // Notifications to a device that needs a reset are ignored, and so is DRIVER_OK again.
        d.Kick(d.Queues[0]);
        d.SetDriverOk();

        d.Initialize(VirtioBlockDeviceTestsAll);
        var q = d.Queues[0];
        var r = BlockRequest.Submit(q, BlockRequest.In, 1, inLength: 512);
        Assert.Equal(r.Head, q.WaitOne().Id);
        Assert.Equal(BlockRequest.Ok, r.Status(rig.Memory));
        Assert.Null(rig.Transport.NeedsResetReason);
    }

    private static ulong VirtioBlockDeviceTestsAll => VirtioBlock.VirtioBlockDeviceTests.All;

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void A_malformed_ring_gets_needs_reset_and_the_device_works_after_a_reset(string name)
    {
        using var rig = DeviceRig.WithRawDisk();
        var canary = new byte[4096];
        new Random(9).NextBytes(canary);
        rig.Memory.Write(DeviceRig.MemoryBytes - 4096, canary);
        var d = rig.Driver;
        d.Initialize(VirtioBlockDeviceTestsAll, queueSize: 8);

        Cases[name](rig, d.Queues[0]);
        d.Queues[0].Kick();

        AssertNeedsResetThenRecovers(rig, msix: false);
        var after = new byte[4096];
        rig.Memory.Read(DeviceRig.MemoryBytes - 4096, after);
        Assert.Equal(canary, after);
    }

    [Fact]
    public void A_malformed_ring_under_msix_raises_the_config_vector()
    {
        using var rig = DeviceRig.WithRawDisk(msi: true);
        rig.Driver.Initialize(VirtioBlockDeviceTestsAll, queueSize: 8, msix: true);
        Cases["descriptor loop"](rig, rig.Driver.Queues[0]);
        rig.Driver.Queues[0].Kick();
        AssertNeedsResetThenRecovers(rig, msix: true);
    }

    [Fact]
    public void An_indirect_descriptor_without_the_negotiated_feature_needs_a_reset()
    {
        using var rig = DeviceRig.WithRawDisk();
        var d = rig.Driver;
        d.Initialize(VirtioBlock.VirtioBlockDeviceTests.Basic);
        BlockRequest.Submit(d.Queues[0], BlockRequest.In, 0, inLength: 512, indirect: true);
        AssertNeedsResetThenRecovers(rig, msix: false);
    }

    [Theory]
    [InlineData(0x10008UL, 0x20000UL, 0x30000UL, 8)]
    [InlineData(0x10000UL, 0x20001UL, 0x30000UL, 8)]
    [InlineData(0x10000UL, 0x20000UL, 0x30002UL, 8)]
    [InlineData(DeviceRig.MemoryBytes - 64, 0x20000UL, 0x30000UL, 8)]
    [InlineData(0x10000UL, 0x20000UL, 0x40_0000_0000UL, 8)]
    [InlineData(0x10000UL, 0x20000UL, 0x30000UL, 0)]
    [InlineData(0x10000UL, 0x20000UL, 0x30000UL, 6)]
    public void Misplaced_rings_or_a_bad_size_need_a_reset_at_driver_ok(ulong desc, ulong avail, ulong used, int size)
    {
        using var rig = DeviceRig.WithRawDisk();
        var d = rig.Driver;
        Assert.True(d.Negotiate(VirtioBlockDeviceTestsAll));
        d.ProgramQueue(0, (ushort)size, desc, avail, used);
        d.SetDriverOk();
        AssertNeedsResetThenRecovers(rig, msix: false);
    }

    [Fact]
    public void A_queue_larger_than_offered_needs_a_reset()
    {
        using var rig = DeviceRig.WithRawDisk();
        var d = rig.Driver;
        Assert.True(d.Negotiate(VirtioBlockDeviceTestsAll));
        d.WriteCommon(0x16, 2, 0);
        ushort max = (ushort)d.ReadCommon(0x18, 2);
        d.ProgramQueue(0, (ushort)(max * 2), 0x10000, 0x20000, 0x30000);
        d.SetDriverOk();
        AssertNeedsResetThenRecovers(rig, msix: false);
    }

    [Fact]
    public void A_reset_while_requests_are_in_flight_waits_for_the_one_in_progress_and_drops_the_rest()
    {
        var image = new MemoryDiskImage(1 << 20);
        using var started = new SemaphoreSlim(0);
        using var gate = new ManualResetEventSlim();
        int reads = 0;
        image.BeforeRead = (_, _) =>
        {
            Interlocked.Increment(ref reads);
            started.Release();
            if (!gate.Wait(TimeSpan.FromSeconds(10))) throw new IOException("gate never opened");
        };
        using var rig = DeviceRig.WithImage(image);
        var d = rig.Driver;
        d.Initialize(VirtioBlockDeviceTestsAll);
        var q = d.Queues[0];
        for (int i = 0; i < 4; i++) BlockRequest.Submit(q, BlockRequest.In, (ulong)i, inLength: 512);
        Assert.True(started.Wait(TimeSpan.FromSeconds(5)));

        using var reset = new ManualResetEventSlim();
        new Thread(() => { d.Reset(); reset.Set(); }).Start();
        Thread.Sleep(50);
        gate.Set();
        Assert.True(reset.Wait(TimeSpan.FromSeconds(5)), "the reset did not complete");
        Assert.Equal(1, Volatile.Read(ref reads));
        ushort usedAfterReset = q.DeviceUsedIdx;
        Assert.InRange(usedAfterReset, 0, 1);
        q.Kick();
        Thread.Sleep(50);
        Assert.Equal(usedAfterReset, q.DeviceUsedIdx);

        d.Initialize(VirtioBlockDeviceTestsAll);
        var r = BlockRequest.Submit(d.Queues[0], BlockRequest.In, 1, inLength: 512);
        d.Queues[0].WaitOne();
        Assert.Equal(BlockRequest.Ok, r.Status(rig.Memory));
    }

    [Fact]
    public void Garbage_in_one_of_several_queues_does_not_stop_a_reset_from_recovering_all_of_them()
    {
        using var rig = DeviceRig.WithRawDisk(queues: 2);
        var d = rig.Driver;
        d.Initialize(VirtioBlockDeviceTestsAll, queues: 2, queueSize: 8);
        d.Queues[1].PushAvail(77);
        d.Queues[1].Kick();
        WaitFor(() => (d.Status & NeedsReset) != 0, "no DEVICE_NEEDS_RESET");
        d.Initialize(VirtioBlockDeviceTestsAll, queues: 2);
        foreach (var q in d.Queues.Values)
        {
            var r = BlockRequest.Submit(q, BlockRequest.In, 0, inLength: 512);
            q.WaitOne();
            Assert.Equal(BlockRequest.Ok, r.Status(rig.Memory));
        }
    }
}
