using Cluster.Vmm.Devices;
using Cluster.Vmm.Devices.Virtio;
using Cluster.Vmm.Devices.VirtioBlock;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Tests.Storage;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>
/// A <see cref="FakeVm"/> with guest memory at 0 and a <see cref="DeviceManager"/> over it, with a
/// virtio-blk device on a raw image in a scratch directory or on any <see cref="IDiskImage"/>;
/// <see cref="Driver"/> finds the device the way a guest does.
/// </summary>
internal sealed class DeviceRig : IDisposable
{
    /// <summary>Guest RAM; rings and buffers are allocated from 64 KiB up.</summary>
    public const ulong MemoryBytes = 16UL << 20;

    private readonly HostMemory _host;
    private VirtioTestDriver? _driver;

    private DeviceRig(bool msi, ScratchDir? dir, HostMemory? host = null)
    {
        var hv = new FakeHypervisor();
        Vm = (FakeVm)hv.CreateVm();
        if (msi) Vm.Msis = [];
        _host = host ?? HostMemory.Allocate(MemoryBytes);
        OwnsHost = host is null;
        Vm.SetUserMemoryRegion(0, 0, _host, MemoryRegionFlags.None);
        Devices = new DeviceManager(Vm, MemoryBytes);
        Allocator = new GuestAllocator(Vm.Memory, 0x10000, MemoryBytes);
        Dir = dir;
    }

    public FakeVm Vm { get; }
    public GuestMemory Memory => Vm.Memory;
    public HostMemory Host => _host;
    private bool OwnsHost { get; }
    public DeviceManager Devices { get; }
    public IoBus Bus => Devices.Bus;
    public GuestAllocator Allocator { get; }
    public ScratchDir? Dir { get; }
    public string? ImagePath { get; private set; }

    /// <summary>The (first) virtio-pci function.</summary>
    public VirtioPciTransport Transport => Devices.Devices.OfType<VirtioPciTransport>().First();

    public VirtioTestDriver Driver => _driver ??= VirtioTestDriver.Find(Bus, Memory, Allocator);

    /// <summary>Only the host bridge (and the ISA devices).</summary>
    public static DeviceRig Empty(bool msi = false) => new(msi, null);

    /// <summary>A virtio-blk device on a raw image of <paramref name="contents"/> (or zeroes of <paramref name="size"/>),
    /// with <paramref name="ioThreads"/> I/O threads per queue (1 by default: requests complete in order,
    /// which the tests that count completions rely on).</summary>
    public static DeviceRig WithRawDisk(byte[]? contents = null, long size = 1 << 20, bool msi = false, int queues = 1,
        bool readOnly = false, string? serial = null, ScratchDir? dir = null, HostMemory? host = null, int ioThreads = 1)
    {
        var d = dir ?? new ScratchDir();
        string path = d.File("disk.raw");
        if (!File.Exists(path))
        {
            if (contents is not null) File.WriteAllBytes(path, contents);
            else using (var f = File.Create(path)) f.SetLength(size);
        }
        var rig = new DeviceRig(msi, dir is null ? d : null, host) { ImagePath = path };
        try
        {
            rig.Devices.AddDisks([new DiskConfig(path, DiskFormat.Raw, readOnly, DiskCacheMode.Writeback, serial)], queues, ioThreads: ioThreads);
        }
        catch
        {
            rig.Dispose();
            throw;
        }
        return rig;
    }

    /// <summary>A virtio-blk device named virtio-blk0 on <paramref name="image"/> (owned by the device).</summary>
    public static DeviceRig WithImage(IDiskImage image, bool msi = false, int queues = 1, string serial = "mem-disk")
    {
        var rig = new DeviceRig(msi, null);
        rig.Devices.AddPci(new VirtioPciTransport(rig.Vm, new VirtioBlockDevice("virtio-blk0", image, queues, serial, ioThreads: 1)));
        return rig;
    }

    /// <summary>Waits until every I/O thread is idle (a pause drains them), so that what they would have
    /// done after the last used element (the interrupt decision) is done.</summary>
    public void Quiesce()
    {
        Devices.Pause();
        Devices.Resume();
    }

    public void Dispose()
    {
        Devices.Dispose();
        if (OwnsHost) _host.Dispose();
        Dir?.Dispose();
    }
}

/// <summary>An image in memory whose reads, writes and flushes can be held up or observed by a test.</summary>
internal sealed class MemoryDiskImage(ulong size, bool readOnly = false) : IDiskImage
{
    public byte[] Bytes { get; } = new byte[size];
    public Action<ulong, int>? BeforeRead { get; set; }
    public Action<ulong, int>? BeforeWrite { get; set; }
    public bool Disposed { get; private set; }
    public int Flushes;

    public string Path => "memory";
    public DiskFormat Format => DiskFormat.Raw;
    public ulong VirtualSize => size;
    public bool ReadOnly => readOnly;

    public void Read(ulong offset, Span<byte> destination)
    {
        DiskRange.Check(this, offset, (ulong)destination.Length, write: false);
        BeforeRead?.Invoke(offset, destination.Length);
        lock (Bytes) Bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        DiskRange.Check(this, offset, (ulong)source.Length, write: true);
        BeforeWrite?.Invoke(offset, source.Length);
        lock (Bytes) source.CopyTo(Bytes.AsSpan((int)offset));
    }

    public void Flush() => Interlocked.Increment(ref Flushes);

    public void Discard(ulong offset, ulong length) => WriteZeroes(offset, length, true);

    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap)
    {
        DiskRange.Check(this, offset, length, write: true);
        lock (Bytes) Bytes.AsSpan((int)offset, (int)length).Clear();
    }

    public void Dispose() => Disposed = true;
}
