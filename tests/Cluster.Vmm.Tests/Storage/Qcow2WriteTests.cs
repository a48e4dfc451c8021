using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Images this project writes pass qemu-img check and compare equal to a raw model of the same workload.</summary>
public class Qcow2WriteTests
{
    private const ulong Size = 4 << 20;

    public static TheoryData<int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int>();
        bool full = Environment.GetEnvironmentVariable("CLUSTER_FULL_TESTS") == "1";
        int[] clusterSizes = full ? [512, 1024, 4096, 16384, 65536, 262144, 2 << 20] : [512, 4096, 65536, 2 << 20];
        int seed = 100;
        foreach (int cs in clusterSizes)
            for (int depth = 0; depth <= 3; depth += full ? 1 : 3)
                data.Add(cs, depth, seed++);
        return data;
    }

    [QemuTheory]
    [MemberData(nameof(Cases))]
    public void A_random_workload_leaves_an_image_qemu_checks_clean_and_finds_equal_to_the_model(int clusterSize, int depth, int seed)
    {
        using var dir = new ScratchDir();
        string top = dir.File("ours.qcow2");
        byte[] start;
        if (depth == 0)
        {
            DiskImage.Create(top, DiskFormat.Qcow2, Size, new DiskCreateOptions(ClusterSize: clusterSize));
            start = new byte[Size];
        }
        else
        {
            string backing = QemuChain.Build(dir, new Random(seed), seed, clusterSize, depth - 1, Size);
            DiskImage.Create(top, DiskFormat.Qcow2, null, new DiskCreateOptions(Path.GetFileName(backing), ClusterSize: clusterSize));
            start = QemuTools.ReadAsRaw(backing, dir.Path);
        }
        var model = new DiskModel(start);
        using (var image = DiskImage.Open(top, DiskFormat.Qcow2, readOnly: false, DiskCacheMode.Writeback))
        {
            model.Run(image, seed, 150, (ulong)clusterSize);
            image.Flush();
            var ours = new byte[Size];
            image.Read(0, ours);
            QemuChain.AssertSameBytes(model.Bytes, ours);
        }
        QemuAssert.ChecksClean(top);
        QemuAssert.ComparesEqual(top, model.Save(dir.File("model.raw")));
    }

    [QemuFact]
    public void Writes_over_qemu_compressed_and_zero_clusters_copy_them_first()
    {
        using var dir = new ScratchDir();
        string top = QemuChain.Build(dir, new Random(5), 5, 65536, 0, Size);
        var model = new DiskModel(QemuTools.ReadAsRaw(top, dir.Path));
        using (var image = DiskImage.Open(top, null, readOnly: false, DiskCacheMode.None))
            model.Run(image, 5, 200, 65536);
        QemuAssert.ChecksClean(top);
        QemuAssert.ComparesEqual(top, model.Save(dir.File("model.raw")));
    }

    [QemuFact]
    public void The_refcount_table_grows_when_the_image_outgrows_it()
    {
        using var dir = new ScratchDir();
        string top = dir.File("grow.qcow2");
        const ulong size = 32 << 20;
        DiskImage.Create(top, DiskFormat.Qcow2, size, new DiskCreateOptions(ClusterSize: 512));
        var data = new byte[1 << 20];
        new Random(3).NextBytes(data);
        using (var image = DiskImage.Open(top, null, readOnly: false, DiskCacheMode.Writeback))
        {
            // 512-byte clusters, 16-bit refcounts: one table cluster reaches 64 blocks of 256 clusters (8 MiB).
            for (ulong at = 0; at < 12 << 20; at += 1 << 20)
                image.Write(at, data);
        }
        string info = QemuTools.Img("info", top);
        var header = new byte[64];
        using (var f = File.OpenRead(top))
            f.ReadExactly(header);
        Assert.True(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(56)) > 1, "the refcount table did not grow");
        QemuAssert.ChecksClean(top);
        var raw = QemuTools.ReadAsRaw(top, dir.Path);
        for (int mb = 0; mb < 12; mb++)
            QemuChain.AssertSameBytes(data, raw[(mb << 20)..((mb + 1) << 20)]);
        Assert.Contains("virtual size: 32 MiB", info);
    }

    [QemuFact]
    public void Internal_snapshots_are_kept_and_their_clusters_are_never_overwritten()
    {
        using var dir = new ScratchDir();
        string path = dir.File("snap.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", path, Size.ToString());
        QemuTools.Io([.. QemuWorkload.QemuIoCommands(11, Size, 40), path]);
        QemuTools.Img("snapshot", "-c", "before", path);
        var before = QemuTools.ReadAsRaw(path, dir.Path);
        var model = new DiskModel((byte[])before.Clone());
        using (var image = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback))
            model.Run(image, 11, 200, 4096);
        QemuAssert.ChecksClean(path);
        QemuAssert.ComparesEqual(path, model.Save(dir.File("model.raw")));
        string snapshot = dir.File("before.raw");
        QemuTools.Img("convert", "-l", "snapshot.name=before", "-O", "raw", path, snapshot);
        QemuChain.AssertSameBytes(before, File.ReadAllBytes(snapshot));
    }

    [QemuFact]
    public void An_image_created_here_is_one_qemu_img_reads_with_its_backing_chain()
    {
        using var dir = new ScratchDir();
        string base0 = dir.File("base.raw");
        DiskImage.Create(base0, DiskFormat.Raw, 1 << 20);
        DiskImage.Create(dir.File("mid.qcow2"), DiskFormat.Qcow2, null, new DiskCreateOptions("base.raw", DiskFormat.Raw, 4096));
        DiskImage.Create(dir.File("top.qcow2"), DiskFormat.Qcow2, null, new DiskCreateOptions("mid.qcow2"));
        string info = QemuTools.Img("info", "--backing-chain", dir.File("top.qcow2"));
        Assert.Contains("backing file: mid.qcow2", info);
        Assert.Contains("backing file format: qcow2", info);
        Assert.Contains("backing file format: raw", info);
        QemuAssert.ChecksClean(dir.File("top.qcow2"));
        QemuAssert.ChecksClean(dir.File("mid.qcow2"));
    }

    [QemuTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(32)]
    [InlineData(64)]
    public void Images_with_any_refcount_width_are_written_consistently(int refcountBits)
    {
        using var dir = new ScratchDir();
        string path = dir.File("refbits.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", $"refcount_bits={refcountBits},cluster_size=4096", path, Size.ToString());
        QemuTools.Io([.. QemuWorkload.QemuIoCommands(refcountBits, Size, 20), path]);
        if (refcountBits > 1)
            QemuTools.Img("snapshot", "-c", "s", path);
        var model = new DiskModel(QemuTools.ReadAsRaw(path, dir.Path));
        using (var image = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback))
            model.Run(image, refcountBits, 150, 4096);
        QemuAssert.ChecksClean(path);
        QemuAssert.ComparesEqual(path, model.Save(dir.File("model.raw")));
    }

    [QemuFact]
    public void Concurrent_writers_and_readers_on_separate_ranges_leave_a_consistent_image()
    {
        using var dir = new ScratchDir();
        string path = dir.File("concurrent.qcow2");
        DiskImage.Create(path, DiskFormat.Qcow2, Size, new DiskCreateOptions(ClusterSize: 4096));
        var model = new byte[Size];
        const int threads = 4;
        ulong slice = Size / threads;
        using (var image = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback))
        {
            Parallel.For(0, threads, t =>
            {
                var random = new Random(t);
                var back = new byte[64 << 10];
                for (int i = 0; i < 200; i++)
                {
                    ulong length = (ulong)random.Next(1, 129) * 512;
                    ulong offset = (ulong)t * slice + (ulong)random.NextInt64(0, (long)((slice - length) / 512)) * 512;
                    if (random.Next(4) == 0)
                    {
                        image.Read(offset, back.AsSpan(0, (int)length));
                        Assert.True(back.AsSpan(0, (int)length).SequenceEqual(model.AsSpan((int)offset, (int)length)));
                        continue;
                    }
                    var data = new byte[length];
                    random.NextBytes(data);
                    image.Write(offset, data);
                    data.CopyTo(model, (int)offset);
                }
            });
            image.Flush();
        }
        QemuAssert.ChecksClean(path);
        QemuAssert.ComparesEqual(path, new DiskModel(model).Save(dir.File("model.raw")));
    }
}
