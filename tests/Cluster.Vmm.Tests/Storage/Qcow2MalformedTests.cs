using System.Buffers.Binary;
using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Malformed or unsupported images are refused at open with a message naming the problem.</summary>
public class Qcow2MalformedTests
{
    /// <summary>Each case: how to spoil a fresh qemu-img image, and the words the refusal must contain.</summary>
    private static readonly Dictionary<string, (Action<ScratchDir, string> Spoil, string[] Words)> Spoilers = new()
    {
        ["l2-outside-file"] = ((_, p) => PatchL1(p, 0, 0x8000000000000000UL | (ulong)(new FileInfo(p).Length + (1 << 20)) & ~0xffffUL), ["L2 table", "outside the file"]),
        ["l2-unaligned"] = ((_, p) => PatchL1(p, 0, 0x30200), ["L2 table", "not aligned"]),
        ["refcount-block-outside-file"] = ((_, p) => Patch64(p, Field(p, 48), 1UL << 40), ["refcount block 0", "outside the file"]),
        ["refcount-block-unaligned"] = ((_, p) => Patch64(p, Field(p, 48), 0x20200), ["refcount block 0", "not aligned"]),
        ["l1-unaligned"] = ((_, p) => Patch64(p, 40, Field(p, 40) + 8), ["L1 table", "not aligned"]),
        ["overlapping-metadata"] = ((_, p) => PatchL1(p, 0, Field(p, 48) | 0x8000000000000000UL), ["overlapping metadata", "refcount table"]),
        ["cluster-bits-absurd"] = ((_, p) => Patch32(p, 20, 30), ["cluster_bits 30"]),
        ["size-beyond-l1"] = ((_, p) => Patch64(p, 24, 1UL << 40), ["l1_size", "too small"]),
        ["size-absurd"] = ((_, p) => Patch64(p, 24, 1UL << 62), ["virtual size", "absurd"]),
        ["l1-size-absurd"] = ((_, p) => Patch32(p, 36, 1 << 30), ["l1_size", "absurd"]),
        ["truncated-file"] = ((_, p) => Truncate(p, 0x18000), ["truncated"]),
        ["truncated-header"] = ((_, p) => Truncate(p, 50), ["truncated"]),
        ["bad-magic"] = ((_, p) => Patch32(p, 0, 0x12345678), ["magic"]),
        ["version-4"] = ((_, p) => Patch32(p, 4, 4), ["version 4"]),
        ["encrypted"] = ((_, p) => Patch32(p, 32, 2), ["encrypted", "LUKS"]),
        ["refcount-order-7"] = ((_, p) => Patch32(p, 96, 7), ["refcount_order 7"]),
        ["unknown-incompatible-bit"] = ((_, p) => Patch64(p, 72, 1UL << 20), ["unknown incompatible feature bit 20"]),
        ["snapshot-count-absurd"] = ((_, p) => Patch32(p, 60, 1 << 20), ["nb_snapshots", "absurd"]),
        ["external-data-file"] = ((d, p) => QemuTools.Img("create", "-q", "-f", "qcow2", "-o", $"data_file={d.File("data.raw")}", p, "4M"), ["external data file"]),
        ["zstd"] = ((_, p) => QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", p, "4M"), ["zstd"]),
        ["extended-l2"] = ((_, p) => QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", p, "4M"), ["extended L2"]),
        ["missing-backing-file"] = ((d, p) => QemuTools.Img("create", "-q", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F", "qcow2", p, "4M"), ["backing file 'gone.qcow2'", "does not exist"]),
        ["backing-chain-loop"] = ((d, p) =>
        {
            string other = d.File("other.qcow2");
            QemuTools.Img("create", "-q", "-f", "qcow2", other, "4M");
            QemuTools.Img("create", "-q", "-f", "qcow2", "-b", "other.qcow2", "-F", "qcow2", p, "4M");
            QemuTools.Img("rebase", "-u", "-f", "qcow2", "-b", Path.GetFileName(p), "-F", "qcow2", other);
        }, ["backing chain loops"]),
    };

    public static TheoryData<string> Cases() => new(Spoilers.Keys);

    [QemuTheory]
    [MemberData(nameof(Cases))]
    public void A_malformed_image_is_refused_at_open_with_a_message_naming_the_problem(string name)
    {
        using var dir = new ScratchDir();
        string path = dir.File("bad.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", path, "4M");
        QemuTools.Io("-c", "write -P 7 0 64k", path);
        var (spoil, words) = Spoilers[name];
        spoil(dir, path);
        var e = Assert.Throws<VmmException>(() => DiskImage.Open(path, DiskFormat.Qcow2, readOnly: true, DiskCacheMode.Writeback));
        Assert.Equal("disk-open", e.Operation);
        Assert.Contains(path, e.Message);
        foreach (var word in words)
            Assert.Contains(word, e.Message);
    }

    [QemuTheory]
    [InlineData(0, "dirty", "qemu-img check -r all")]
    [InlineData(1, "corrupt", "read-only")]
    public void A_dirty_or_corrupt_image_opens_read_only_but_is_refused_for_writing(int bit, string word, string advice)
    {
        using var dir = new ScratchDir();
        string path = dir.File("flagged.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", path, "4M");
        QemuTools.Io("-c", "write -P 7 0 64k", path);
        Patch64(path, 72, 1UL << bit);
        var e = Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback));
        Assert.Contains(word, e.Message);
        Assert.Contains(advice, e.Message);
        using var image = DiskImage.Open(path, null, readOnly: true, DiskCacheMode.Writeback);
        var sector = new byte[512];
        image.Read(0, sector);
        Assert.All(sector, b => Assert.Equal(7, b));
    }

    private static ulong Field(string path, int offset)
    {
        var b = new byte[8];
        using var f = File.OpenRead(path);
        f.Position = offset;
        f.ReadExactly(b);
        return BinaryPrimitives.ReadUInt64BigEndian(b);
    }

    private static void PatchL1(string path, int index, ulong entry) => Patch64(path, (long)Field(path, 40) + index * 8, entry);

    private static void Patch64(string path, long offset, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        Patch(path, offset, b);
    }

    private static void Patch64(string path, ulong offset, ulong value) => Patch64(path, (long)offset, value);

    private static void Patch32(string path, long offset, uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        Patch(path, offset, b);
    }

    private static void Patch(string path, long offset, byte[] bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    private static void Truncate(string path, long length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.SetLength(length);
    }
}
