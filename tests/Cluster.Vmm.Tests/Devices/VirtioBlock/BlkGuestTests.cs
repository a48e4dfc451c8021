using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioBlock;

/// <summary>
/// The freestanding guest guests/blk.c, with its own virtio-blk driver (the one validated against QEMU's
/// virtio-blk-pci, see guests/README.md), drives our device: what it writes is in the image byte for byte, what
/// the host wrote it reads, with direct and indirect descriptors, event index, several queues and 32 requests
/// in flight, FLUSH, DISCARD, WRITE_ZEROES, GET_ID, read-only disks and BARs it assigns itself.
/// </summary>
public sealed class BlkGuestTests : IDisposable
{
    private const int SectorSize = 512;
    private readonly string _dir = Directory.CreateTempSubdirectory("blkguest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("flush")]
    [InlineData("all")]
    public void A_pattern_the_guest_writes_is_in_the_image_and_reads_back(string features)
    {
        string image = NewImage(4);
        var (exit, console) = Run(image, $"feat={features} qd=8 chunk=16 start=100 pattern 7 1024");

        Assert.Equal(0, exit);
        var bytes = File.ReadAllBytes(image).AsSpan(100 * SectorSize, 1024 * SectorSize);
        Assert.True(bytes.SequenceEqual(Pattern(7, 100, 1024)), "the image does not hold the guest's pattern");
        Assert.Contains($"pattern seed=7 start=100 sectors=1024 crc32={Hex(Crc32(bytes))} ok", console);
        Assert.True(File.ReadAllBytes(image).AsSpan(0, 100 * SectorSize).IndexOfAnyExcept((byte)0) < 0, "the guest wrote below start=");
    }

    [Fact]
    public void The_guest_reads_what_the_host_wrote_and_sees_a_different_seed_as_a_mismatch()
    {
        string image = NewImage(4);
        using (var f = File.OpenWrite(image))
        {
            f.Position = 2000L * SectorSize;
            f.Write(Pattern(11, 2000, 300));
        }

        var (ok, console) = Run(image, "start=2000 check 11 300");
        var (bad, badConsole) = Run(image, "start=2000 check 12 300");

        Assert.Equal(0, ok);
        Assert.Contains("check seed=11 start=2000 sectors=300", console);
        Assert.Equal(1, bad);
        Assert.Contains("mismatch sector=2000", badConsole);
    }

    [Fact]
    public void Indirect_descriptors_event_index_and_32_requests_in_flight_over_two_queues()
    {
        string image = NewImage(8);
        var (exit, console) = Run(image, "feat=all queues=2 qd=32 chunk=8 info pattern 5 1024 bench randread 32 300", vcpus: 2);

        Assert.Equal(0, exit);
        ulong features = Convert.ToUInt64(Field(console, "driver_features"), 16);
        Assert.Equal(1UL, features >> 28 & 1);   // VIRTIO_RING_F_INDIRECT_DESC
        Assert.Equal(1UL, features >> 29 & 1);   // VIRTIO_RING_F_EVENT_IDX
        Assert.Equal(1UL, features >> 12 & 1);   // VIRTIO_BLK_F_MQ
        Assert.Equal("2", Field(console, "queues"));
        Assert.Contains("pattern seed=5 start=0 sectors=1024", console);
        Assert.Matches(@"bench op=randread bs=4096 qd=32 ops=300 .* ok", console);
        Assert.True(File.ReadAllBytes(image).AsSpan(0, 1024 * SectorSize).SequenceEqual(Pattern(5, 0, 1024)));
    }

    [Fact]
    public void Write_zeroes_discard_and_flush_complete_and_get_id_returns_the_serial()
    {
        string image = NewImage(4);
        var (exit, console) = Run(image, "feat=all info pattern 3 256 zero 128 discard 64 flush", serial: "blk-serial-1");

        Assert.Equal(0, exit);
        Assert.Contains("serial=blk-serial-1 ok", console);
        Assert.Contains("zero start=0 sectors=128", console);
        Assert.Contains("discard start=0 sectors=64 status=0 ok", console);
        Assert.Contains("flush ok", console);
        var bytes = File.ReadAllBytes(image);
        Assert.True(bytes.AsSpan(0, 128 * SectorSize).IndexOfAnyExcept((byte)0) < 0, "WRITE_ZEROES left data");
        Assert.True(bytes.AsSpan(128 * SectorSize, 128 * SectorSize).SequenceEqual(Pattern(3, 0, 256).AsSpan(128 * SectorSize)));
    }

    [Fact]
    public void A_read_only_disk_says_so_and_refuses_writes_with_an_error_status()
    {
        string image = NewImage(4);
        var (exit, console) = Run(image, "info pattern 1 8", readOnly: true);

        Assert.Equal(2, exit);
        Assert.Equal("1", Field(console, "ro"));
        Assert.Contains("pattern FAIL status=1", console);   // VIRTIO_BLK_S_IOERR
        Assert.True(File.ReadAllBytes(image).AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Sequence_numbered_blocks_land_in_order_without_gap_or_repeat()
    {
        string image = NewImage(4);
        var (exit, console) = Run(image, "start=64 seq 300");

        Assert.Equal(0, exit);
        Assert.Contains("seq written=300 ok", console);
        var bytes = File.ReadAllBytes(image);
        for (int i = 0; i < 320; i++)
        {
            var block = bytes.AsSpan((64 + i * 8) * SectorSize, 4096);
            if (i >= 300)
            {
                Assert.True(block.IndexOfAnyExcept((byte)0) < 0, $"block {i} was written");
                continue;
            }
            Assert.Equal(0x3130515345534b42UL, BinaryPrimitives.ReadUInt64LittleEndian(block));
            for (int w = 1; w < 512; w++)
                Assert.Equal((ulong)i, BinaryPrimitives.ReadUInt64LittleEndian(block[(w * 8)..]));
        }
    }

    [Fact]
    public void The_driver_assigns_cleared_bars_itself_and_the_device_follows_them()
    {
        string image = NewImage(4);
        var (exit, console) = Run(image, "fresh_bars=1 info pattern 2 64");

        Assert.Equal(0, exit);
        Assert.Equal("1", Field(console, "bars_assigned"));
        Assert.Equal("0x00000000e0000000", Field(console, "common_cfg"));
        Assert.Contains("pattern seed=2 start=0 sectors=64", console);
    }

    [Fact]
    public void The_second_disk_is_the_second_device_the_guest_finds()
    {
        string first = NewImage(4), second = NewImage(8, "b.img");
        using var session = new GuestRunner.Session("blk", Args("disk=1 info pattern 4 16"),
            disks: [new DiskConfig(first, DiskFormat.Raw), new DiskConfig(second, DiskFormat.Raw, Serial: "second")]);
        var exit = session.RunToExit();

        Assert.Equal(0, exit.ExitStatus);
        Assert.Equal((8UL << 20) / SectorSize, ulong.Parse(Field(session.Console, "capacity")));
        Assert.Contains("serial=second", session.Console);
        Assert.True(File.ReadAllBytes(second).AsSpan(0, 16 * SectorSize).SequenceEqual(Pattern(4, 0, 16)));
        Assert.True(File.ReadAllBytes(first).AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    /// <summary>Small: where /dev/kvm is software virtualisation (the nested lane), guest code runs slowly.</summary>
    [KvmMachineFact]
    public void On_kvm_the_pattern_reaches_the_image_too()
    {
        string image = NewImage(4);
        var (exit, console) = Run(image, "feat=all qd=4 chunk=8 pattern 8 32", backend: BackendKind.Kvm);

        Assert.Equal(0, exit);
        Assert.Contains("pattern seed=8 start=0 sectors=32", console);
        Assert.True(File.ReadAllBytes(image).AsSpan(0, 32 * SectorSize).SequenceEqual(Pattern(8, 0, 32)));
    }

    /// <summary>The peer: the same ELF under QEMU's virtio-blk-pci (PVH boot) reads what ours wrote, and ours what it wrote.</summary>
    [QemuSystemFact]
    public void What_the_guest_writes_through_qemus_device_reads_back_through_ours_and_the_other_way()
    {
        string image = NewImage(4);
        var (ours, oursConsole) = Run(image, "feat=all qd=8 chunk=16 pattern 21 1024");
        var (qemu, qemuConsole) = RunQemu(image, "feat=all qd=32 chunk=8 info check 21 1024 start=1024 pattern 22 1024");
        var (back, backConsole) = Run(image, "start=1024 check 22 1024");

        Assert.True(ours == 0, oursConsole);
        Assert.True(qemu == 0, qemuConsole);
        Assert.Contains("check seed=21 start=0 sectors=1024", qemuConsole);
        Assert.Contains("serial=peer", qemuConsole);
        Assert.True(back == 0, backConsole);
        Assert.True(File.ReadAllBytes(image).AsSpan(1024 * SectorSize, 1024 * SectorSize).SequenceEqual(Pattern(22, 1024, 1024)));
    }

    private string NewImage(int mib, string name = "a.img")
    {
        string path = Path.Combine(_dir, name);
        using var f = File.Create(path);
        f.SetLength((long)mib << 20);
        return path;
    }

    private static string[] Args(string words) => words.Split(' ');

    private static (int Exit, string Console) Run(string image, string args, int vcpus = 1, string? serial = null, bool readOnly = false,
        BackendKind backend = BackendKind.Emulated)
    {
        using var session = new GuestRunner.Session("blk", Args(args), vcpus, backend: backend,
            disks: [new DiskConfig(image, DiskFormat.Raw, ReadOnly: readOnly, Serial: serial)]);
        var exit = session.RunToExit();
        return (exit.ExitStatus ?? -1, session.Console);
    }

    /// <summary>Runs the guest under qemu-system-x86_64 -accel tcg; isa-debug-exit makes the process exit (status &lt;&lt; 1) | 1.</summary>
    private static (int Exit, string Console) RunQemu(string image, string args)
    {
        var (exit, stdout, stderr) = Storage.QemuTools.Run("qemu-system-x86_64",
        [
            "-accel", "tcg", "-M", "q35", "-m", "64", "-display", "none", "-nodefaults", "-no-user-config", "-serial", "stdio",
            "-no-reboot", "-kernel", BuiltInGuests.Find("blk"), "-append", args, "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-drive", $"if=none,id=d0,file={image},format=raw", "-device", "virtio-blk-pci,drive=d0,disable-legacy=on,serial=peer",
        ]);
        return ((exit & 1) == 1 ? exit >> 1 : -exit, stdout + stderr);
    }

    private static string Field(string console, string key)
    {
        var m = Regex.Match(console, $@"\b{key}=(\S+)");
        Assert.True(m.Success, $"no {key}= on the console: {console}");
        return m.Groups[1].Value;
    }

    /// <summary>guests/blk.c's pattern: the u64 at byte 8*k of the disk is splitmix64's finaliser of k + seed * golden.</summary>
    private static byte[] Pattern(ulong seed, long startSector, int sectors)
    {
        var bytes = new byte[sectors * SectorSize];
        ulong k0 = (ulong)startSector * 64;
        for (int i = 0; i < bytes.Length / 8; i++)
        {
            ulong z = k0 + (ulong)i + seed * 0x9e3779b97f4a7c15UL;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), z ^ (z >> 31));
        }
        return bytes;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    private static string Hex(uint v) => $"0x{v:x16}";
}

/// <summary>A fact that needs qemu-system-x86_64 (the peer device); skipped where it is not installed.</summary>
public sealed class QemuSystemFactAttribute : FactAttribute
{
    public QemuSystemFactAttribute()
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "qemu-system-x86_64"))))
            Skip = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)";
    }
}
