using System.Text;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioBlock;

/// <summary>Seeded random request sequences (mixed types, sizes and offsets, invalid ones included,
/// direct and indirect chains cut at random points, several in flight) checked against a model of the
/// disk. A failure names its seed; set VIRTIO_BLK_SEED to replay one.</summary>
public class VirtioBlockModelTests
{
    private const int Sectors = 512;
    private const string Serial = "model-disk";

    public static TheoryData<int> Seeds()
    {
        var seeds = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable("VIRTIO_BLK_SEED"), out int seed)) seeds.Add(seed);
        else foreach (int s in new[] { 1, 2, 3, 20261206 }) seeds.Add(s);
        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_requests_match_a_model_of_the_disk(int seed)
    {
        try
        {
            Run(seed);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException || !e.Message.StartsWith("seed "))
        {
            throw new Xunit.Sdk.XunitException($"seed {seed} (replay with VIRTIO_BLK_SEED={seed}): {e.Message}\n{e.StackTrace}");
        }
    }

    private sealed class Model(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;
        /// <summary>Sectors discarded since last read: they hold their old bytes or zeroes.</summary>
        public bool[] MaybeZero { get; } = new bool[Sectors];
    }

    private sealed record Pending(BlockRequest Request, uint Type, ulong Sector, int Length, byte Expected, byte[]? Payload, List<(ulong Sector, uint Count, uint Flags)>? Ranges);

    private static void Run(int seed)
    {
        var random = new Random(seed);
        var contents = new byte[Sectors * 512];
        random.NextBytes(contents);
        var model = new Model((byte[])contents.Clone());
        using var rig = DeviceRig.WithRawDisk(contents, serial: Serial);
        var d = rig.Driver;
        d.Initialize(VirtioBlockDeviceTests.All, queueSize: 64);
        var q = d.Queues[0];

        for (int batch = 0; batch < 60; batch++)
        {
            ulong mark = rig.Allocator.Mark;
            int inFlight = random.Next(1, 9);
            var pending = new List<Pending>();
            for (int i = 0; i < inFlight; i++)
            {
                pending.Add(Submit(q, random, kick: random.Next(4) == 0));
            }
            q.Kick();
            var used = q.WaitUsed(pending.Count);
            Assert.Equal(pending.Select(p => p.Request.Head), used.Select(u => u.Id));
            for (int i = 0; i < pending.Count; i++) Check(rig, model, pending[i], used[i], batch, i);
            rig.Allocator.Release(mark);
        }
        Assert.Equal(0, d.Status & VirtioTestDriver.NeedsReset);

        var flush = BlockRequest.Submit(q, BlockRequest.Flush, 0);
        q.WaitOne();
        Assert.Equal(BlockRequest.Ok, flush.Status(rig.Memory));
        using var f = new FileStream(rig.ImagePath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var file = new byte[f.Length];
        f.ReadExactly(file);
        for (int s = 0; s < Sectors; s++)
            AssertSector(model, s, file.AsSpan(s * 512, 512), "in the file at the end");
    }

    private static Pending Submit(TestQueue q, Random random, bool kick)
    {
        int pick = random.Next(100);
        uint type = pick switch
        {
            < 35 => BlockRequest.In,
            < 70 => BlockRequest.Out,
            < 75 => BlockRequest.Flush,
            < 80 => BlockRequest.GetId,
            < 87 => BlockRequest.Discard,
            < 96 => BlockRequest.WriteZeroes,
            _ => (uint)random.Next(14, 100),
        };
        int segments = random.Next(1, 5);
        bool indirect = random.Next(2) == 0;
        bool statusWithData = random.Next(3) == 0;
        switch (type)
        {
            case BlockRequest.In or BlockRequest.Out:
            {
                ulong sector = RandomSector(random);
                int length = random.Next(0, 17) * 512;
                if (random.Next(20) == 0) length += random.Next(1, 512);
                bool valid = length % 512 == 0 && sector <= Sectors && (ulong)length <= (Sectors - sector) * 512;
                byte expected = valid ? BlockRequest.Ok : BlockRequest.IoErr;
                if (type == BlockRequest.In)
                    return new Pending(BlockRequest.Submit(q, type, sector, inLength: length, segments: segments, indirect: indirect,
                        statusWithData: statusWithData, kick: kick, random: random), type, sector, length, expected, null, null);
                var payload = new byte[length];
                random.NextBytes(payload);
                return new Pending(BlockRequest.Submit(q, type, sector, payload, segments: segments, indirect: indirect, kick: kick, random: random),
                    type, sector, length, expected, payload, null);
            }
            case BlockRequest.Discard or BlockRequest.WriteZeroes:
            {
                var ranges = new List<(ulong, uint, uint)>();
                for (int i = random.Next(1, 4); i > 0; i--)
                {
                    uint flags = random.Next(8) == 0 ? (uint)random.Next(1, 4) : 0;
                    ranges.Add((RandomSector(random), (uint)random.Next(0, 40), flags));
                }
                byte expected = BlockRequest.Ok;
                foreach (var (sector, count, flags) in ranges)
                {
                    if ((type == BlockRequest.Discard && flags != 0) || (flags & ~1u) != 0) { expected = BlockRequest.Unsupp; break; }
                    if (sector > Sectors || count > Sectors - sector) { expected = BlockRequest.IoErr; break; }
                }
                return new Pending(BlockRequest.Submit(q, type, 0, BlockRequest.Ranges([.. ranges]), segments: segments, indirect: indirect, kick: kick, random: random),
                    type, 0, 0, expected, null, ranges);
            }
            case BlockRequest.GetId:
            {
                int room = random.Next(0, 33);
                return new Pending(BlockRequest.Submit(q, type, 0, inLength: room, segments: segments, indirect: indirect,
                    statusWithData: statusWithData, kick: kick, random: random), type, 0, room, BlockRequest.Ok, null, null);
            }
            case BlockRequest.Flush:
                return new Pending(BlockRequest.Submit(q, type, 0, indirect: indirect, kick: kick), type, 0, 0, BlockRequest.Ok, null, null);
            default:
                return new Pending(BlockRequest.Submit(q, type, (ulong)random.Next(Sectors), inLength: 512, indirect: indirect, kick: kick),
                    type, 0, 512, BlockRequest.Unsupp, null, null);
        }
    }

    private static ulong RandomSector(Random random) => random.Next(10) switch
    {
        0 => (ulong)Sectors + (ulong)random.Next(0, 3),
        1 => (ulong)Sectors - (ulong)random.Next(1, 20),
        2 => ulong.MaxValue / (ulong)random.Next(1, 1024),
        _ => (ulong)random.Next(0, Sectors),
    };

    private static void Check(DeviceRig rig, Model model, Pending p, UsedElement used, int batch, int index)
    {
        string where = $"batch {batch} request {index} (type {p.Type}, sector {p.Sector}, {p.Length} bytes)";
        byte status = p.Request.Status(rig.Memory);
        if (status != p.Expected) Assert.Fail($"{where}: status {status}, expected {p.Expected}");
        if (status != BlockRequest.Ok) return;
        switch (p.Type)
        {
            case BlockRequest.In:
            {
                Assert.True(used.Length == (uint)p.Length + 1, $"{where}: used length {used.Length}");
                var data = p.Request.ReadData(rig.Memory);
                for (int s = 0; s < p.Length / 512; s++)
                    AssertSector(model, (int)p.Sector + s, data.AsSpan(s * 512, 512), where);
                break;
            }
            case BlockRequest.Out:
                p.Payload!.CopyTo(model.Bytes, (int)p.Sector * 512);
                Array.Clear(model.MaybeZero, (int)p.Sector, p.Length / 512);
                break;
            case BlockRequest.GetId:
            {
                var expected = new byte[20];
                Encoding.ASCII.GetBytes(Serial).CopyTo(expected, 0);
                Assert.Equal(expected.AsSpan(0, Math.Min(20, p.Length)).ToArray(), p.Request.ReadData(rig.Memory).AsSpan(0, Math.Min(20, p.Length)).ToArray());
                break;
            }
            case BlockRequest.Discard or BlockRequest.WriteZeroes:
                foreach (var (sector, count, _) in p.Ranges!)
                {
                    if (p.Type == BlockRequest.WriteZeroes)
                    {
                        Array.Clear(model.Bytes, (int)sector * 512, (int)count * 512);
                        Array.Clear(model.MaybeZero, (int)sector, (int)count);
                    }
                    else Array.Fill(model.MaybeZero, true, (int)sector, (int)count);
                }
                break;
        }
    }

    private static void AssertSector(Model model, int sector, ReadOnlySpan<byte> seen, string where)
    {
        var expected = model.Bytes.AsSpan(sector * 512, 512);
        if (seen.SequenceEqual(expected)) { model.MaybeZero[sector] = false; return; }
        if (model.MaybeZero[sector] && seen.IndexOfAnyExcept((byte)0) < 0)
        {
            expected.Clear();
            model.MaybeZero[sector] = false;
            return;
        }
        Assert.Fail($"{where}: sector {sector} differs from the model");
    }
}
