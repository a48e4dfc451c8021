using System.Buffers.Binary;
using System.Text.Json;
using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>The refcount check finds what qemu-img check finds.</summary>
public class DiskCheckTests
{
    [QemuTheory]
    [InlineData("clean", 0, 0)]
    [InlineData("leak", 0, 1)]
    [InlineData("error", 2, 0)]
    [InlineData("wrong-copied-flag", 1, 0)]
    public void Counts_errors_and_leaks_as_qemu_img_check_counts_them(string damage, int errors, int leaks)
    {
        using var dir = new ScratchDir();
        string path = dir.File("c.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", path, "4M");
        QemuTools.Io([.. QemuWorkload.QemuIoCommands(21, 4 << 20, 30), path]);
        QemuTools.Img("snapshot", "-c", "s1", path);
        QemuTools.Io("-c", "write -P 9 0 64k", path);
        long length = new FileInfo(path).Length;
        ulong refcountTable = ReadU64(path, 48), block0 = ReadU64(path, (long)refcountTable);
        ulong l1 = ReadU64(path, 40), l2 = ReadU64(path, (long)l1) & 0x00fffffffffffe00;
        switch (damage)
        {
            case "leak":
                // One more cluster at the end of the file, counted but unused: leaked.
                using (var f = new FileStream(path, FileMode.Open, FileAccess.Write))
                    f.SetLength((length + 4095) / 4096 * 4096 + 4096);
                WriteU16(path, (long)block0 + 2 * ((length + 4095) / 4096), 1);
                break;
            case "error":
                // The first L2 table's refcount dropped to 0 while the L1 table points at it: the
                // refcount and the L1 entry's copied flag are both wrong (two errors, as qemu-img counts).
                WriteU16(path, (long)block0 + 2 * (long)(l2 / 4096), 0);
                break;
            case "wrong-copied-flag":
                WriteU64(path, (long)l1, l2);
                break;
        }
        var report = DiskImage.Check(path);
        var qemu = JsonDocument.Parse(QemuTools.Run("qemu-img", ["check", "--output=json", path]).Stdout).RootElement;
        int Field(string name) => qemu.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
        Assert.Equal((Field("corruptions"), Field("leaks")), (report.Errors, report.Leaks));
        Assert.Equal((errors, leaks), (report.Errors, report.Leaks));
        if (damage == "clean")
        {
            Assert.Contains("No errors were found on the image.", report.Format());
            Assert.Equal((ulong)qemu.GetProperty("image-end-offset").GetInt64(), report.ImageEndOffset);
            Assert.Equal(qemu.GetProperty("allocated-clusters").GetInt64(), (long)report.AllocatedClusters);
        }
    }

    [QemuFact]
    public void Images_written_here_check_clean_here_and_in_qemu()
    {
        using var dir = new ScratchDir();
        string path = dir.File("ours.qcow2");
        DiskImage.Create(path, DiskFormat.Qcow2, 8 << 20, new DiskCreateOptions(ClusterSize: 1024));
        using (var image = DiskImage.Open(path, null, false, DiskCacheMode.Writeback))
            new DiskModel(new byte[8 << 20]).Run(image, 4, 300, 1024);
        var report = DiskImage.Check(path);
        Assert.Equal((0, 0), (report.Errors, report.Leaks));
        QemuAssert.ChecksClean(path);
    }

    private static ulong ReadU64(string path, long at)
    {
        var b = new byte[8];
        using var f = File.OpenRead(path);
        f.Position = at;
        f.ReadExactly(b);
        return BinaryPrimitives.ReadUInt64BigEndian(b);
    }

    private static void WriteU64(string path, long at, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write) { Position = at };
        f.Write(b);
    }

    private static void WriteU16(string path, long at, ushort value)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write) { Position = at };
        f.Write(b);
    }
}
