using System.Diagnostics;
using System.Net.Sockets;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Image paths only from the allowed directories, and only regular files or block devices.</summary>
public sealed class ImageDirectoriesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("image-dirs-").FullName;

    private string Allowed => Path.Combine(_root, "images");

    private string Outside => Path.Combine(_root, "elsewhere");

    public ImageDirectoriesTests()
    {
        Directory.CreateDirectory(Allowed);
        Directory.CreateDirectory(Outside);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private ImageDirectories Images => new([Allowed]);

    private static string Refusal(Action check) => Assert.Throws<VmmException>(check).Message;

    [Fact]
    public void A_regular_file_inside_an_allowed_directory_is_accepted_by_its_real_path()
    {
        string file = Path.Combine(Allowed, "disk.img");
        File.WriteAllBytes(file, new byte[4096]);
        Assert.Equal(file, Images.Check(file));
        Assert.Equal(file, new ImageDirectories([Allowed + "/"]).Check(Path.Combine(Allowed, ".", "disk.img")));
    }

    [Fact]
    public void A_path_outside_the_allowed_directories_is_refused()
    {
        string file = Path.Combine(Outside, "disk.img");
        File.WriteAllBytes(file, new byte[16]);
        var message = Refusal(() => Images.Check(file));
        Assert.Equal($"image path {file} refused: it is outside the allowed image directories ({Allowed}; cluster-hypervisor.images.allowed-dirs)", message);
    }

    [Fact]
    public void A_directory_whose_name_extends_an_allowed_one_is_outside_it()
    {
        Directory.CreateDirectory(Allowed + "-2");
        string file = Path.Combine(Allowed + "-2", "disk.img");
        File.WriteAllBytes(file, new byte[16]);
        Assert.Contains("outside the allowed image directories", Refusal(() => Images.Check(file)));
    }

    [Fact]
    public void Dev_zero_is_refused_outside_and_as_a_character_device_when_dev_is_allowed()
    {
        Assert.Contains("image path /dev/zero refused: it is outside the allowed image directories", Refusal(() => Images.Check("/dev/zero")));
        Assert.Equal("image path /dev/zero refused: it is a character device, not a regular file or a block device",
            Refusal(() => new ImageDirectories(["/dev"]).Check("/dev/zero")));
    }

    [Fact]
    public async Task A_fifo_inside_is_refused_without_waiting_for_a_writer()
    {
        string fifo = Path.Combine(Allowed, "fifo");
        using (var p = Process.Start("mkfifo", [fifo])) p.WaitForExit();
        Assert.True(File.Exists(fifo), "mkfifo made nothing");
        var message = await Task.Run(() => Refusal(() => Images.Check(fifo))).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal($"image path {fifo} refused: it is a FIFO, not a regular file or a block device", message);
    }

    [Fact]
    public void A_directory_inside_is_refused()
    {
        string dir = Path.Combine(Allowed, "sub");
        Directory.CreateDirectory(dir);
        Assert.Equal($"image path {dir} refused: it is a directory, not a regular file or a block device", Refusal(() => Images.Check(dir)));
    }

    [Fact]
    public void A_socket_inside_is_refused()
    {
        string path = Path.Combine(Allowed, "sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        Assert.Contains("it is a socket", Refusal(() => Images.Check(path)));
    }

    [Fact]
    public void A_symlink_inside_that_escapes_the_allowed_directory_is_refused_naming_its_target()
    {
        string target = Path.Combine(Outside, "secret.img");
        File.WriteAllBytes(target, new byte[16]);
        string link = Path.Combine(Allowed, "link.img");
        File.CreateSymbolicLink(link, target);
        Assert.Equal($"image path {link} refused: it resolves to {target}, which is outside the allowed image directories ({Allowed}; cluster-hypervisor.images.allowed-dirs)",
            Refusal(() => Images.Check(link)));
        // A directory symlink escapes the same way.
        string dirLink = Path.Combine(Allowed, "up");
        Directory.CreateSymbolicLink(dirLink, Outside);
        Assert.Contains($"it resolves to {target}", Refusal(() => Images.Check(Path.Combine(dirLink, "secret.img"))));
    }

    [Fact]
    public void A_symlink_that_stays_inside_is_accepted()
    {
        string target = Path.Combine(Allowed, "real.img");
        File.WriteAllBytes(target, new byte[16]);
        string link = Path.Combine(Allowed, "alias.img");
        File.CreateSymbolicLink(link, target);
        Assert.Equal(target, Images.Check(link));
    }

    [Fact]
    public void Missing_and_relative_paths_are_refused()
    {
        string missing = Path.Combine(Allowed, "missing.img");
        Assert.Equal($"image path {missing} refused: no such file", Refusal(() => Images.Check(missing)));
        Assert.Equal("image path images/x.img refused: it is not an absolute path", Refusal(() => Images.Check("images/x.img")));
    }

    [Fact]
    public void A_machine_config_is_checked_for_its_image_and_every_disk_and_built_in_guests_pass()
    {
        string disk = Path.Combine(Allowed, "a.img");
        File.WriteAllBytes(disk, new byte[4096]);
        var config = new MachineConfig { Image = new BuiltInGuestImage("hello"), Disks = [new DiskConfig(disk)] };
        Images.Check(config);
        Assert.Contains("image path /dev/zero refused", Refusal(() => Images.Check(config with { Disks = [new DiskConfig(disk), new DiskConfig("/dev/zero")] })));
        Assert.Contains($"image path {Outside}/k refused", Refusal(() => Images.Check(config with { Image = new LinuxGuestImage(Path.Combine(Outside, "k"), null, "") })));
        Assert.Contains("image path /etc/passwd refused", Refusal(() => Images.Check(config with { Image = new ElfGuestImage("/etc/passwd") })));
    }

    [Fact]
    public void A_descriptor_open_on_a_file_outside_or_on_a_device_is_refused_after_the_open()
    {
        string inside = Path.Combine(Allowed, "ok.img");
        File.WriteAllBytes(inside, new byte[16]);
        using (var ok = File.OpenHandle(inside)) Images.CheckOpened(ok, inside);
        string outside = Path.Combine(Outside, "swapped.img");
        File.WriteAllBytes(outside, new byte[16]);
        using (var swapped = File.OpenHandle(outside))
            Assert.Equal($"image path {inside} refused: the file opened is {outside}, outside the allowed image directories ({Allowed})",
                Refusal(() => Images.CheckOpened(swapped, inside)));
        using var zero = File.OpenHandle("/dev/zero");
        Assert.Equal("image path /dev/zero refused: the file opened is a character device, not a regular file or a block device",
            Refusal(() => new ImageDirectories(["/dev"]).CheckOpened(zero, "/dev/zero")));
    }

    [Fact]
    public void A_qcow2_disk_opens_for_a_worker_with_its_backing_file_inside_and_is_refused_with_one_outside()
    {
        string inner = Path.Combine(Allowed, "base.img");
        DiskImage.Create(inner, DiskFormat.Raw, 1 << 20);
        string disk = Path.Combine(Allowed, "top.qcow2");
        DiskImage.Create(disk, DiskFormat.Qcow2, 1 << 20, new DiskCreateOptions(inner, DiskFormat.Raw));
        using (var files = DiskFiles.Open(disk, DiskFormat.Qcow2, readOnly: false, Images))
            Assert.Equal([disk, inner], files.Files.Select(f => f.Path));

        string outer = Path.Combine(Outside, "base.img");
        DiskImage.Create(outer, DiskFormat.Raw, 1 << 20);
        string escaping = Path.Combine(Allowed, "escaping.qcow2");
        DiskImage.Create(escaping, DiskFormat.Qcow2, 1 << 20, new DiskCreateOptions(outer, DiskFormat.Raw));
        Assert.StartsWith($"image path {outer} refused: it is outside the allowed image directories",
            Refusal(() => DiskFiles.Open(escaping, DiskFormat.Qcow2, readOnly: false, Images).Dispose()));
    }

    [Fact]
    public async Task Opening_a_disk_for_a_worker_checks_the_disk_before_opening_it()
    {
        string fifo = Path.Combine(Allowed, "disk-fifo");
        using (var p = Process.Start("mkfifo", [fifo])) p.WaitForExit();
        var message = await Task.Run(() => Refusal(() => DiskFiles.Open(fifo, DiskFormat.Raw, readOnly: true, Images).Dispose()))
            .WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("it is a FIFO", message);
    }
}
