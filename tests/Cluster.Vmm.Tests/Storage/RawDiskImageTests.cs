using Cluster.Vmm.Storage;
using Cluster.Vmm.Storage.Files;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

public class RawDiskImageTests
{
    private static string NewRaw(ScratchDir dir, long size)
    {
        string path = dir.File($"disk-{Guid.NewGuid():N}.raw");
        using (var f = File.Create(path))
            f.SetLength(size);
        return path;
    }

    [Theory]
    [InlineData(DiskCacheMode.Writeback)]
    [InlineData(DiskCacheMode.None)]
    public void Reads_back_what_was_written_and_zeroes_where_nothing_was(DiskCacheMode cache)
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir, 1 << 20);
        var random = new Random(1);
        var model = new byte[1 << 20];
        using (var disk = DiskImage.Open(path, null, readOnly: false, cache))
        {
            Assert.Equal(DiskFormat.Raw, disk.Format);
            Assert.Equal(1UL << 20, disk.VirtualSize);
            for (int i = 0; i < 50; i++)
            {
                int offset = random.Next(0, 2048 - 16) * 512, length = random.Next(1, 16) * 512;
                var data = new byte[length];
                random.NextBytes(data);
                disk.Write((ulong)offset, data);
                data.CopyTo(model, offset);
            }
            disk.Flush();
            var back = new byte[model.Length];
            disk.Read(0, back);
            Assert.Equal(model, back);
        }
        Assert.Equal(model, File.ReadAllBytes(path));
    }

    [Fact]
    public void Zeroed_and_discarded_ranges_read_as_zeroes_and_leave_the_size()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir, 256 << 10);
        using var disk = DiskImage.Open(path, DiskFormat.Raw, readOnly: false, DiskCacheMode.Writeback);
        var ones = Enumerable.Repeat((byte)0xA5, 256 << 10).ToArray();
        disk.Write(0, ones);
        disk.WriteZeroes(4096, 8192, mayUnmap: true);
        disk.WriteZeroes(65536, 512, mayUnmap: false);
        disk.Discard(131072, 65536);
        var back = new byte[256 << 10];
        disk.Read(0, back);
        for (int i = 0; i < back.Length; i++)
        {
            bool zero = i is >= 4096 and < 12288 || i is >= 65536 and < 66048 || i is >= 131072 and < 196608;
            Assert.True(back[i] == (zero ? 0 : 0xA5), $"byte {i} is {back[i]}");
        }
        Assert.Equal(256L << 10, new FileInfo(path).Length);
    }

    [Fact]
    public void Requests_outside_the_disk_or_not_in_whole_sectors_are_refused_as_disk_io_errors()
    {
        using var dir = new ScratchDir();
        using var disk = DiskImage.Open(NewRaw(dir, 4096), null, readOnly: false, DiskCacheMode.Writeback);
        Assert.Equal("disk-io", Assert.Throws<VmmException>(() => disk.Read(4096, new byte[512])).Operation);
        Assert.Equal("disk-io", Assert.Throws<VmmException>(() => disk.Write(100, new byte[512])).Operation);
        Assert.Equal("disk-io", Assert.Throws<VmmException>(() => disk.Write(0, new byte[100])).Operation);
    }

    [Fact]
    public void A_read_only_disk_refuses_writes_zeroing_and_discard()
    {
        using var dir = new ScratchDir();
        using var disk = DiskImage.Open(NewRaw(dir, 4096), null, readOnly: true, DiskCacheMode.Writeback);
        Assert.True(disk.ReadOnly);
        Assert.Throws<VmmException>(() => disk.Write(0, new byte[512]));
        Assert.Throws<VmmException>(() => disk.WriteZeroes(0, 512, true));
        Assert.Throws<VmmException>(() => disk.Discard(0, 512));
    }

    [Fact]
    public void Flush_returns_only_after_the_file_was_synced_and_every_write_came_before_the_sync()
    {
        using var dir = new ScratchDir();
        var file = new RecordingImageFile(PosixImageFile.Open(NewRaw(dir, 65536), false, DiskCacheMode.Writeback));
        using var disk = DiskImage.Open(file, DiskFormat.Raw, readOnly: false, DiskCacheMode.Writeback, BackingChain.Start(file));
        disk.Write(0, new byte[4096]);
        disk.Write(8192, new byte[512]);
        disk.Flush();
        file.Mark("flush returned");
        Assert.Equal(["write 0+4096", "write 8192+512", "sync", "mark flush returned"], file.Log);
    }

    [Fact]
    public void Opening_a_missing_file_names_the_file()
    {
        using var dir = new ScratchDir();
        string path = dir.File("nope.raw");
        var e = Assert.Throws<VmmException>(() => DiskImage.Open(path, null, false, DiskCacheMode.Writeback));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Cache_none_on_tmpfs_works_or_is_refused_naming_O_DIRECT()
    {
        if (!Directory.Exists("/dev/shm"))
            return;
        string path = $"/dev/shm/cluster-storage-{Guid.NewGuid():N}.raw";
        File.WriteAllBytes(path, new byte[4096]);
        try
        {
            // tmpfs refuses O_DIRECT before Linux 6.6 and accepts it since.
            try
            {
                using var disk = DiskImage.Open(path, null, false, DiskCacheMode.None);
                disk.Write(512, new byte[512]);
            }
            catch (VmmException e)
            {
                Assert.Contains("O_DIRECT", e.Message);
                Assert.Contains(path, e.Message);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
