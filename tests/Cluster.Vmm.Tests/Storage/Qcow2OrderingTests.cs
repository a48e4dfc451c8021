using Cluster.Vmm.Storage;
using Cluster.Vmm.Storage.Files;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>The order in which a qcow2 write reaches the file, seen through a recording file layer.</summary>
public class Qcow2OrderingTests
{
    private const long Cluster = 65536;
    // DiskImage.Create's layout: header, refcount table, refcount block, L1 table; then allocations.
    private const long RefcountBlock = 2 * Cluster, L1 = 3 * Cluster, FirstFree = 4 * Cluster;

    private static (RecordingImageFile File, IDiskImage Image) Open(ScratchDir dir)
    {
        string path = dir.File("ordered.qcow2");
        DiskImage.Create(path, DiskFormat.Qcow2, 4 << 20);
        var file = new RecordingImageFile(PosixImageFile.Open(path, readOnly: false, DiskCacheMode.Writeback));
        return (file, DiskImage.Open(file, DiskFormat.Qcow2, readOnly: false, DiskCacheMode.Writeback, BackingChain.Start(file)));
    }

    [Fact]
    public void An_allocating_write_counts_the_cluster_then_writes_data_then_L2_then_L1_and_flush_syncs_after_all()
    {
        using var dir = new ScratchDir();
        var (file, image) = Open(dir);
        using (image)
        {
            image.Write(0, new byte[4096]);
            image.Flush();
            file.Mark("flush returned");
        }
        Assert.Equal(
        [
            $"write {RefcountBlock}+512",          // refcount of the new L2 table
            $"write {FirstFree}+{Cluster}",        // the L2 table, whole
            $"write {L1}+512",                     // the L1 entry that points at it
            $"write {RefcountBlock}+512",          // refcount of the new data cluster
            $"write {FirstFree + Cluster}+{Cluster}", // the data, whole cluster (the rest copied: zeroes)
            $"write {FirstFree}+512",              // the L2 entry that points at it
            "sync",
            "mark flush returned",
        ], file.Log);
    }

    [Fact]
    public void Overwriting_and_freeing_a_cluster_drops_its_reference_only_after_the_L2_entry_changed()
    {
        using var dir = new ScratchDir();
        var (file, image) = Open(dir);
        using (image)
        {
            image.Write(0, new byte[Cluster]);
            file.Mark("written");
            image.WriteZeroes(0, (ulong)Cluster, mayUnmap: true);
            image.Flush();
        }
        var after = file.Log.SkipWhile(e => e != "mark written").Skip(1).ToArray();
        Assert.Equal([$"write {FirstFree}+512", $"write {RefcountBlock}+512", "sync"], after);
    }

    [Fact]
    public void Flush_does_not_return_before_the_sync_of_the_image_returned()
    {
        using var dir = new ScratchDir();
        var (file, image) = Open(dir);
        using (image)
        {
            for (int i = 0; i < 10; i++)
                image.Write((ulong)i * 8192, new byte[512]);
            image.Flush();
            file.Mark("flush returned");
        }
        var log = file.Log;
        int sync = log.ToList().LastIndexOf("sync");
        Assert.Equal(log.Count - 2, sync);
        Assert.All(log.Take(sync), e => Assert.StartsWith("write", e));
    }
}
