using System.Diagnostics;
using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

public class ImageLockTests
{
    private static string NewRaw(ScratchDir dir)
    {
        string path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[65536]);
        return path;
    }

    [Fact]
    public void A_second_writer_is_refused_while_the_first_holds_the_image()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir);
        using (DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback))
        {
            var e = Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback));
            Assert.Equal("disk-lock", e.Operation);
            Assert.Contains(path, e.Message);
            Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: true, DiskCacheMode.Writeback));
        }
        using var again = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback);
    }

    [Fact]
    public void Several_readers_share_an_image()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir);
        using var a = DiskImage.Open(path, null, readOnly: true, DiskCacheMode.Writeback);
        using var b = DiskImage.Open(path, null, readOnly: true, DiskCacheMode.Writeback);
        Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback));
    }

    [QemuFact]
    public void Qemu_tools_are_refused_an_image_this_vmm_holds_for_writing()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir);
        using var disk = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback);
        var io = QemuTools.Run("qemu-io", ["-f", "raw", "-c", "read 0 512", path]);
        Assert.Contains("Failed to get \"write\" lock", io.Stderr + io.Stdout);
        var convert = QemuTools.Run("qemu-img", ["convert", "-f", "raw", "-O", "raw", path, dir.File("copy.raw")]);
        Assert.NotEqual(0, convert.Exit);
        Assert.Contains("Failed to get shared \"write\" lock", convert.Stderr);
    }

    [QemuFact]
    public void This_vmm_is_refused_an_image_qemu_holds_for_writing_and_gets_it_once_qemu_exits()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir);
        var start = new ProcessStartInfo("qemu-io") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-f", "raw", "-c", "sleep 60000", path })
            start.ArgumentList.Add(a);
        using var qemu = Process.Start(start)!;
        try
        {
            VmmException? refused = null;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (refused is null && DateTime.UtcNow < deadline)
            {
                try
                {
                    DiskImage.Open(path, null, readOnly: true, DiskCacheMode.Writeback).Dispose();
                    Thread.Sleep(50);
                }
                catch (VmmException e)
                {
                    refused = e;
                }
            }
            Assert.NotNull(refused);
            Assert.Contains("write", refused.Message);
            Assert.Throws<VmmException>(() => DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback));
        }
        finally
        {
            qemu.Kill();
            qemu.WaitForExit();
        }
        using var disk = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback);
    }

    [Fact]
    public void Info_describes_an_image_in_use_without_taking_its_locks()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir);
        using var disk = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback);
        var info = DiskImage.Info(path);
        Assert.Equal((DiskFormat.Raw, 65536UL), (info.Format, info.VirtualSize));
        Assert.Equal("disk-lock", Assert.Throws<VmmException>(() => DiskImage.Check(path)).Operation);
    }

    [Fact]
    public void Creating_over_an_image_in_use_is_refused_and_leaves_it_alone()
    {
        using var dir = new ScratchDir();
        string path = NewRaw(dir);
        using var disk = DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback);
        var e = Assert.Throws<VmmException>(() => DiskImage.Create(path, DiskFormat.Qcow2, 1 << 20));
        Assert.Equal("disk-lock", e.Operation);
        Assert.Equal(65536, new FileInfo(path).Length);
    }

    [QemuFact]
    public void A_running_qemu_system_with_the_image_as_its_disk_keeps_this_vmm_out()
    {
        if (!File.Exists("/usr/bin/qemu-system-x86_64"))
            return;
        using var dir = new ScratchDir();
        string path = dir.File("vm.qcow2");
        DiskImage.Create(path, DiskFormat.Qcow2, 16 << 20);
        var start = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-accel", "tcg", "-S", "-nographic", "-nodefaults", "-display", "none", "-m", "64", "-drive", $"file={path},format=qcow2,if=virtio" })
            start.ArgumentList.Add(a);
        using var qemu = Process.Start(start)!;
        try
        {
            // Wait until QEMU holds its locks (opening to find out could itself keep QEMU out).
            string inode = QemuTools.Run("stat", ["-c", "%i", path], [0]).Stdout.Trim();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.ReadAllText("/proc/locks").Contains($":{inode} 201 ") && DateTime.UtcNow < deadline && !qemu.HasExited)
                Thread.Sleep(50);
            VmmException? refused = null;
            try
            {
                DiskImage.Open(path, null, readOnly: false, DiskCacheMode.Writeback).Dispose();
            }
            catch (VmmException e)
            {
                refused = e;
            }
            Assert.True(refused is not null, $"never refused; qemu exited: {qemu.HasExited}");
            Assert.Equal("disk-lock", refused.Operation);
        }
        finally
        {
            if (!qemu.HasExited)
                qemu.Kill();
            qemu.WaitForExit();
        }
    }
}
