using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Images written by qemu-img and qemu-io read byte for byte as qemu-img convert -O raw reads them.</summary>
public class Qcow2ReadTests
{
    private const ulong Size = 4 << 20;

    public static TheoryData<int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int>();
        int[] clusterSizes = Environment.GetEnvironmentVariable("CLUSTER_FULL_TESTS") == "1"
            ? [512, 1024, 4096, 16384, 65536, 262144, 2 << 20]
            : [512, 4096, 65536, 2 << 20];
        int seed = 1;
        foreach (int cs in clusterSizes)
            for (int depth = 0; depth <= 3; depth++)
                data.Add(cs, depth, seed++);
        return data;
    }

    [QemuTheory]
    [MemberData(nameof(Cases))]
    public void A_chain_written_by_qemu_reads_as_qemu_img_convert_reads_it(int clusterSize, int depth, int seed)
    {
        using var dir = new ScratchDir();
        var random = new Random(seed);
        string top = QemuChain.Build(dir, random, seed, clusterSize, depth, Size);
        using var image = DiskImage.Open(top, null, readOnly: true, DiskCacheMode.Writeback);
        Assert.Equal(Size, image.VirtualSize);
        var ours = new byte[Size];
        image.Read(0, ours);
        var theirs = QemuTools.ReadAsRaw(top, dir.Path);
        QemuChain.AssertSameBytes(theirs, ours);
    }

    [QemuFact]
    public void A_version_2_image_reads_as_qemu_reads_it_and_opens_read_only_only()
    {
        using var dir = new ScratchDir();
        string path = dir.File("v2.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4096", path, "1M");
        QemuTools.Io([.. QemuWorkload.QemuIoCommands(7, 1 << 20, 30, zeroes: false, discards: false), path]);
        using (var image = DiskImage.Open(path, null, readOnly: true, DiskCacheMode.Writeback))
        {
            var ours = new byte[image.VirtualSize];
            image.Read(0, ours);
            QemuChain.AssertSameBytes(QemuTools.ReadAsRaw(path, dir.Path), ours);
        }
        var e = Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback));
        Assert.Contains("version 2", e.Message);
    }

    [QemuFact]
    public void A_qcow2_file_opened_as_raw_on_purpose_shows_its_bytes()
    {
        using var dir = new ScratchDir();
        string path = dir.File("a.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", path, "1M");
        using var image = DiskImage.Open(path, DiskFormat.Raw, readOnly: true, DiskCacheMode.Writeback);
        Assert.Equal(DiskFormat.Raw, image.Format);
        var first = new byte[512];
        image.Read(0, first);
        Assert.Equal("QFI"u8.ToArray(), first[..3]);
    }
}
