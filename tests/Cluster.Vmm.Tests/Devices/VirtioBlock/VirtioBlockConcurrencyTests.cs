using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioBlock;

/// <summary>A queue served by several I/O threads (the default): a driver's queue depth runs in parallel,
/// completions may come back in any order, and every request completes exactly once with its own data.</summary>
public class VirtioBlockConcurrencyTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Requests_in_flight_on_several_io_threads_each_complete_once_with_their_own_data(int seed)
    {
        var random = new Random(seed);
        using var rig = DeviceRig.WithRawDisk(size: 4 << 20, ioThreads: 4);
        var d = rig.Driver;
        d.Initialize(VirtioBlockDeviceTests.All, queueSize: 256);
        var q = d.Queues[0];
        const int InFlight = 32, Sectors = 8;
        var sectors = Enumerable.Range(0, InFlight).Select(i => (ulong)(i * 64 + random.Next(0, 56))).ToArray();
        var payloads = sectors.Select(_ => { var b = new byte[Sectors * 512]; random.NextBytes(b); return b; }).ToArray();

        var writes = sectors.Select((s, i) => BlockRequest.Submit(q, BlockRequest.Out, s, payloads[i], segments: 1 + i % 3, kick: false)).ToList();
        q.Kick();
        var used = q.WaitUsed(InFlight);
        Assert.Equal(writes.Select(w => w.Head).Order(), used.Select(u => (ushort)u.Id).Order());
        Assert.All(writes, w => Assert.Equal(BlockRequest.Ok, w.Status(rig.Memory)));

        var reads = sectors.Select((s, i) => BlockRequest.Submit(q, BlockRequest.In, s, inLength: Sectors * 512, segments: 1 + i % 4, kick: false)).ToList();
        q.Kick();
        used = q.WaitUsed(InFlight);
        Assert.Equal(reads.Select(r => r.Head).Order(), used.Select(u => (ushort)u.Id).Order());
        for (int i = 0; i < InFlight; i++)
        {
            Assert.Equal(BlockRequest.Ok, reads[i].Status(rig.Memory));
            Assert.Equal(payloads[i], reads[i].ReadData(rig.Memory));
        }
        Assert.Equal(0, d.Status & VirtioTestDriver.NeedsReset);
    }
}
