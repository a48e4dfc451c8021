using System.Text;
using Cluster.Vmm.Devices.Virtio;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Loaders.Linux;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Worker;

namespace Cluster.Vmm.Tests.Fuzz;

/// <summary>
/// The parsers of untrusted bytes, each as a fuzz target: it feeds the bytes to the parser and returns when the parser
/// accepts them or refuses them the documented way (<see cref="VmmException"/>, <see cref="VirtioQueueException"/>);
/// any other exception, a hang or a crash is a bug. Each target also has valid seeds, made from the product's own
/// encoders, for the mutations to start from. Used by <see cref="FuzzTests"/> (the corpus and a short mutation run in
/// the suite) and by <c>bench/fuzz/run</c> (long runs).
/// </summary>
internal static class FuzzTargets
{
    /// <summary>Every target by name.</summary>
    public static readonly IReadOnlyDictionary<string, FuzzTarget> All = new Dictionary<string, FuzzTarget>
    {
        ["hello"] = new(Hello, HelloSeeds),
        ["pages"] = new(Pages, PageSeeds),
        ["xbzrle"] = new(XbzrleDelta, XbzrleSeeds),
        ["snapshot"] = new(Snapshot, SnapshotSeeds),
        ["elf"] = new(Elf, ElfSeeds),
        ["bzimage"] = new(BzImageHeader, BzImageSeeds),
        ["qcow2"] = new(Qcow2, Qcow2Seeds),
        ["virtqueue"] = new(VirtqueueChains, VirtqueueSeeds),
        ["worker-create"] = new(WorkerCreate, WorkerCreateSeeds),
    };

    private const ulong GuestBytes = 4UL << 20;

    private static MachineConfig SampleConfig => new()
    {
        Vcpus = 2, MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage("counter"), Args = ["5", "x"],
        Disks = [new DiskConfig("/var/lib/images/a.qcow2", DiskFormat.Qcow2, ReadOnly: false, DiskCacheMode.None, "s1")],
    };

    // Migration Hello: the first frame a target reads from a peer.
    private static void Hello(byte[] data) => Refused(() => MigrationHello.FromBytes(data));

    private static IEnumerable<byte[]> HelloSeeds()
    {
        using var hv = new EmulatedHypervisor();
        yield return new MigrationHello(MigrationProtocol.Version, 42, 2, BackendKind.Emulated, hv.CpuModel, SampleConfig).ToBytes();
    }

    // A Pages payload: records read until the payload ends, deltas applied to a page.
    private static void Pages(byte[] data) => Refused(() =>
    {
        var page = new byte[PageCodec.PageSize];
        int offset = 0;
        while (offset < data.Length)
        {
            var (_, encoding) = PageCodec.Decode(data, ref offset, out var content);
            if (encoding == PageEncoding.Delta) Xbzrle.Decode(content, page);
            else if (encoding == PageEncoding.Full) content.CopyTo(page);
        }
    });

    private static IEnumerable<byte[]> PageSeeds()
    {
        var buffer = new byte[3 * (8 + PageCodec.PageSize)];
        var page = new byte[PageCodec.PageSize];
        var previous = new byte[PageCodec.PageSize];
        int used = PageCodec.Encode(0x1000, page, default, buffer).Length;
        for (int i = 0; i < page.Length; i += 7) page[i] = (byte)i;
        used += PageCodec.Encode(0x2000, page, default, buffer.AsSpan(used)).Length;
        page.CopyTo(previous);
        page[100] ^= 0xff;
        used += PageCodec.Encode(0x2000, page, previous, buffer.AsSpan(used)).Length;
        yield return buffer[..used];
    }

    private static void XbzrleDelta(byte[] data) => Refused(() => Xbzrle.Decode(data, new byte[PageCodec.PageSize]));

    private static IEnumerable<byte[]> XbzrleSeeds()
    {
        var previous = new byte[PageCodec.PageSize];
        var current = new byte[PageCodec.PageSize];
        for (int i = 0; i < current.Length; i += 97) current[i] = (byte)(i + 1);
        var delta = new byte[PageCodec.PageSize];
        int n = Xbzrle.Encode(previous, current, delta);
        yield return delta[..Math.Max(n, 0)];
    }

    // Machine snapshots: what a migration's target and a VMM worker's restore read.
    private static void Snapshot(byte[] data) => Refused(() => MachineSnapshot.FromBytes(data));

    private static IEnumerable<byte[]> SnapshotSeeds()
    {
        using var hv = new EmulatedHypervisor();
        using var machine = Cluster.Vmm.Machine.Machine.Create(hv, new MachineConfig { Vcpus = 2, MemoryBytes = 8UL << 20, Image = new BuiltInGuestImage("counter"), Args = ["3"] });
        yield return machine.SaveState().ToBytes();
    }

    // ELF guest images.
    private static void Elf(byte[] data) => WithMemory(memory => Refused(() => ElfLoader.Load(data, memory, GuestBytes)));

    private static IEnumerable<byte[]> ElfSeeds()
    {
        foreach (var name in new[] { "hello", "counter" })
            yield return File.ReadAllBytes(BuiltInGuests.Find(name));
    }

    // bzImage kernels: the setup header and sizes (the kernel's own code is not parsed).
    private static void BzImageHeader(byte[] data) => Refused(() => BzImage.Parse(data));

    private static IEnumerable<byte[]> BzImageSeeds()
    {
        var kernel = Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").OrderBy(p => p, StringComparer.Ordinal).FirstOrDefault() : null;
        if (kernel is not null)
            yield return File.ReadAllBytes(kernel);
    }

    // qcow2 images: header, L1/L2 and refcount tables, snapshots, then every cluster read.
    private static void Qcow2(byte[] data)
    {
        var path = Path.Combine(ScratchDirectory, $"fuzz-{Environment.CurrentManagedThreadId}.qcow2");
        File.WriteAllBytes(path, data);
        Refused(() =>
        {
            using var image = DiskImage.Open(path, DiskFormat.Qcow2, readOnly: true, DiskCacheMode.Writeback);
            var buffer = new byte[64 << 10];
            ulong size = Math.Min(image.VirtualSize, 16UL << 20);
            for (ulong offset = 0; offset + (ulong)buffer.Length <= size; offset += (ulong)buffer.Length)
                image.Read(offset, buffer);
        });
    }

    private static IEnumerable<byte[]> Qcow2Seeds()
    {
        var path = Path.Combine(ScratchDirectory, $"seed-{Environment.CurrentManagedThreadId}.qcow2");
        File.Delete(path);
        DiskImage.Create(path, DiskFormat.Qcow2, 4UL << 20);
        using (var image = DiskImage.Open(path, DiskFormat.Qcow2, readOnly: false, DiskCacheMode.Writeback))
        {
            var block = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
            image.Write(0, block);
            image.Write(3UL << 20, block);
            image.Flush();
        }
        yield return File.ReadAllBytes(path);
    }

    // Virtqueues: a driver's descriptor table and available ring, popped until empty.
    private static void VirtqueueChains(byte[] data) => WithMemory(memory =>
    {
        ushort size = (ushort)(1 << ((data.Length > 0 ? data[0] : 0) % 9));
        const ulong descTable = 0x10000, availRing = 0x20000, usedRing = 0x30000;
        var table = new byte[16 * size];
        var avail = new byte[4 + 2 * size];
        int from = Math.Min(1, data.Length);
        data.AsSpan(from, Math.Min(table.Length, data.Length - from)).CopyTo(table);
        from = Math.Min(from + table.Length, data.Length);
        data.AsSpan(from, Math.Min(avail.Length, data.Length - from)).CopyTo(avail);
        memory.Write(descTable, table);
        memory.Write(availRing, avail);
        var queue = new Virtqueue(memory, 0, 256)
        {
            Size = size, DescTable = descTable, AvailRing = availRing, UsedRing = usedRing, Enabled = true, Indirect = true,
        };
        Refused(() =>
        {
            queue.Validate();
            for (int popped = 0; queue.TryPop(out var chain); popped++)
            {
                if (popped > size) throw new InvalidOperationException($"popped {popped} chains from a queue of {size}");
                var scratch = new byte[512];
                chain!.Read(memory, 0, scratch);
                foreach (var s in chain.Segments)
                    if (!memory.IsBacked(s.Address, s.Length))
                        throw new InvalidOperationException($"a segment at 0x{s.Address:x}+{s.Length} is outside guest memory");
            }
        });
    });

    private static IEnumerable<byte[]> VirtqueueSeeds()
    {
        // Size 8 (3 % 9 = 3), two chains: 0 -> 1 (header, writable status) and 2 alone.
        var data = new List<byte> { 3 };
        void Descriptor(ulong address, uint length, ushort flags, ushort next)
        {
            data.AddRange(BitConverter.GetBytes(address));
            data.AddRange(BitConverter.GetBytes(length));
            data.AddRange(BitConverter.GetBytes(flags));
            data.AddRange(BitConverter.GetBytes(next));
        }
        Descriptor(0x40000, 16, 1, 1);
        Descriptor(0x41000, 1, 2, 0);
        Descriptor(0x42000, 512, 0, 0);
        for (int i = 3; i < 8; i++) Descriptor(0, 0, 0, 0);
        data.AddRange(BitConverter.GetBytes((ushort)0));
        data.AddRange(BitConverter.GetBytes((ushort)2));
        data.AddRange(BitConverter.GetBytes((ushort)0));
        data.AddRange(BitConverter.GetBytes((ushort)2));
        for (int i = 2; i < 8; i++) data.AddRange(BitConverter.GetBytes((ushort)0));
        yield return [.. data];
    }

    // The node-to-worker Create message (the worker trusts its node, but a malformed one must not crash it).
    private static void WorkerCreate(byte[] data) => Refused(() => WorkerCodec.Decode(data, r => r.ReadCreate()));

    private static IEnumerable<byte[]> WorkerCreateSeeds()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
            w.Write(new WorkerCreate("vm-1", 3, SampleConfig));
        yield return ms.ToArray();
    }

    /// <summary>Runs <paramref name="parse"/>; a documented refusal is fine, anything else propagates.</summary>
    private static void Refused(Action parse)
    {
        try
        {
            parse();
        }
        catch (VmmException)
        {
        }
        catch (VirtioQueueException)
        {
        }
    }

    private static readonly Lazy<string> Scratch = new(() =>
    {
        var dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"cluster-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        return dir;
    });

    private static string ScratchDirectory => Scratch.Value;

    [ThreadStatic] private static GuestMemory? _memory;
    [ThreadStatic] private static HostMemory? _host;

    /// <summary>A guest memory of <see cref="GuestBytes"/> per thread, zeroed before each use.</summary>
    private static void WithMemory(Action<GuestMemory> use)
    {
        if (_memory is null)
        {
            _host = HostMemory.Allocate(GuestBytes);
            _memory = new GuestMemory();
            _memory.SetRegion(0, 0, _host, MemoryRegionFlags.None, 1);
        }
        _host!.AsSpan(0, (int)GuestBytes).Clear();
        use(_memory);
    }
}

/// <summary>A fuzz target: the parse, and the valid inputs its mutations start from.</summary>
internal sealed record FuzzTarget(Action<byte[]> Run, Func<IEnumerable<byte[]>> Seeds);
