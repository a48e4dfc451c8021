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
    public void Clusters_are_counted_before_use_and_L2_then_L1_entries_are_written_only_after_a_sync_of_the_data()
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
            $"write {RefcountBlock}+512",             // refcounts of a batch of clusters raised
            $"write {FirstFree}+{Cluster}",           // the new L2 table, whole (all unallocated)
            $"write {FirstFree + Cluster}+{Cluster}", // the data, whole cluster (the rest copied: zeroes)
            "sync",                                   // FLUSH: refcounts, table and data durable...
            $"write {FirstFree}+512",                 // ...before the L2 entry that points at the data
            $"write {L1}+512",                        // and the L1 entry that points at the L2 table
            "sync",                                   // FLUSH returns after this
            "mark flush returned",
        ], file.Log.Take(8));
    }

    [Fact]
    public void A_freed_cluster_loses_its_reference_only_after_the_L2_change_was_synced()
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
        // The zeroed L2 entry is written after a sync, and the cluster's refcount dropped only after
        // another sync made that entry durable.
        Assert.Equal(["sync", $"write {FirstFree}+512", $"write {L1}+512", "sync", $"write {RefcountBlock}+512", "sync"], after.Take(6));
    }

    [Fact]
    public void Flush_does_not_return_before_the_sync_of_the_image_returned()
    {
        using var dir = new ScratchDir();
        var (file, image) = Open(dir);
        IReadOnlyList<string> log;
        using (image)
        {
            for (int i = 0; i < 10; i++)
                image.Write((ulong)i * 8192, new byte[512]);
            image.Flush();
            file.Mark("flush returned");
            log = file.Log;
        }
        Assert.Equal(["sync", "mark flush returned"], log.TakeLast(2));
        Assert.All(log.SkipLast(2), e => Assert.True(e.StartsWith("write", StringComparison.Ordinal) || e == "sync", e));
    }
}
