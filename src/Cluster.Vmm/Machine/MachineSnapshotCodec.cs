using System.Text;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;

namespace Cluster.Vmm.Machine;

/// <summary>
/// The binary form of a <see cref="MachineSnapshot"/>: the magic "CVMS", a format version (2), then
/// little-endian fields in declaration order; registers as 18 u64, each segment as base, limit,
/// selector and its flag bytes, MSRs as (u32 index, u64 value) pairs, blob dictionaries as
/// count then (UTF-8 name, length, bytes), sorted by name so that equal snapshots encode equally;
/// device state as count then sections (UTF-8 name, i32 version, length, bytes) in device order.
/// Version 1 (devices as unversioned blobs) is refused with both versions named.
/// </summary>
public static class MachineSnapshotCodec
{
    private static readonly byte[] Magic = "CVMS"u8.ToArray();

    /// <summary>The format version written and the only one read.</summary>
    public const int Version = 2;

    private const int MaxCount = 1 << 20;

    /// <summary>Encodes a snapshot.</summary>
    public static byte[] Encode(MachineSnapshot s)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms, Encoding.UTF8);
        w.Write(Magic);
        w.Write(Version);
        w.Write((int)s.Backend);
        w.Write(s.VcpuCount);
        w.Write(s.MemoryBytes);
        w.Write(s.Vcpus.Count);
        foreach (var v in s.Vcpus) WriteVcpu(w, v);
        w.Write((int)s.Vm.Backend);
        WriteBlobs(w, s.Vm.Blobs);
        w.Write(s.Devices.Count);
        foreach (var d in s.Devices)
        {
            w.Write(d.Name);
            w.Write(d.Version);
            w.Write(d.Data.Length);
            w.Write(d.Data);
        }
        w.Flush();
        return ms.ToArray();
    }

    /// <summary>Decodes a snapshot.</summary>
    /// <exception cref="VmmException">not a snapshot, truncated, or of another version.</exception>
    public static MachineSnapshot Decode(ReadOnlySpan<byte> bytes)
    {
        using var ms = new MemoryStream(bytes.ToArray(), writable: false);
        using var r = new BinaryReader(ms, Encoding.UTF8);
        try
        {
            if (!r.ReadBytes(4).AsSpan().SequenceEqual(Magic))
                throw new VmmException("not a machine snapshot (bad magic)", "snapshot-decode");
            int version = r.ReadInt32();
            if (version != Version)
                throw new VmmException(version < Version
                    ? $"machine snapshot version {version} was written by an older VMM; this VMM reads version {Version}"
                    : $"machine snapshot version {version} is newer than this VMM, which reads version {Version}", "snapshot-decode");
            var backend = (BackendKind)r.ReadInt32();
            int vcpuCount = r.ReadInt32();
            if (vcpuCount is < 1 or > GuestLayout.MaxVcpus)
                throw new VmmException($"machine snapshot has an absurd count of {vcpuCount} vCPUs (1..{GuestLayout.MaxVcpus})", "snapshot-decode");
            ulong memoryBytes = r.ReadUInt64();
            if (memoryBytes > GuestLayout.MaxMemoryBytes)
                throw new VmmException($"machine snapshot has an absurd {memoryBytes} bytes of memory (at most {GuestLayout.MaxMemoryBytes})", "snapshot-decode");
            int n = ReadCount(r, "vcpu states");
            if (n > vcpuCount)
                throw new VmmException($"machine snapshot has {n} vCPU states for {vcpuCount} vCPUs", "snapshot-decode");
            var vcpus = new List<VcpuState>(n);
            for (int i = 0; i < n; i++) vcpus.Add(ReadVcpu(r));
            var vm = new VmState { Backend = (BackendKind)r.ReadInt32(), Blobs = ReadBlobs(r) };
            var devices = ReadSections(r);
            if (ms.Position != ms.Length)
                throw new VmmException($"machine snapshot has {ms.Length - ms.Position} trailing bytes", "snapshot-decode");
            return new MachineSnapshot(backend, vcpuCount, memoryBytes, vcpus, vm, devices);
        }
        catch (EndOfStreamException e)
        {
            throw new VmmException("machine snapshot is truncated", "snapshot-decode", inner: e);
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            // A string whose 7-bit encoded length is over-long or negative (found by fuzzing: tests/Cluster.Vmm.Tests/Fuzz).
            throw new VmmException($"machine snapshot is malformed: {e.Message}", "snapshot-decode", inner: e);
        }
    }

    private static int ReadCount(BinaryReader r, string what)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > MaxCount) throw new VmmException($"machine snapshot has an absurd count of {what}: {n}", "snapshot-decode");
        return n;
    }

    private static void WriteVcpu(BinaryWriter w, VcpuState v)
    {
        w.Write((int)v.Backend);
        w.Write(v.Id);
        var g = v.Registers;
        foreach (var x in new[] { g.Rax, g.Rbx, g.Rcx, g.Rdx, g.Rsi, g.Rdi, g.Rsp, g.Rbp, g.R8, g.R9, g.R10, g.R11, g.R12, g.R13, g.R14, g.R15, g.Rip, g.Rflags })
            w.Write(x);
        var s = v.SpecialRegisters;
        foreach (var seg in new[] { s.Cs, s.Ds, s.Es, s.Fs, s.Gs, s.Ss, s.Tr, s.Ldt }) WriteSegment(w, seg);
        w.Write(s.Gdt.Base); w.Write(s.Gdt.Limit);
        w.Write(s.Idt.Base); w.Write(s.Idt.Limit);
        foreach (var x in new[] { s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Cr8, s.Efer, s.ApicBase }) w.Write(x);
        w.Write(v.Msrs.Length);
        foreach (var m in v.Msrs) { w.Write(m.Index); w.Write(m.Data); }
        WriteBlobs(w, v.Blobs);
    }

    private static VcpuState ReadVcpu(BinaryReader r)
    {
        var backend = (BackendKind)r.ReadInt32();
        int id = r.ReadInt32();
        var g = new Registers
        {
            Rax = r.ReadUInt64(), Rbx = r.ReadUInt64(), Rcx = r.ReadUInt64(), Rdx = r.ReadUInt64(),
            Rsi = r.ReadUInt64(), Rdi = r.ReadUInt64(), Rsp = r.ReadUInt64(), Rbp = r.ReadUInt64(),
            R8 = r.ReadUInt64(), R9 = r.ReadUInt64(), R10 = r.ReadUInt64(), R11 = r.ReadUInt64(),
            R12 = r.ReadUInt64(), R13 = r.ReadUInt64(), R14 = r.ReadUInt64(), R15 = r.ReadUInt64(),
            Rip = r.ReadUInt64(), Rflags = r.ReadUInt64(),
        };
        var s = new SpecialRegisters
        {
            Cs = ReadSegment(r), Ds = ReadSegment(r), Es = ReadSegment(r), Fs = ReadSegment(r),
            Gs = ReadSegment(r), Ss = ReadSegment(r), Tr = ReadSegment(r), Ldt = ReadSegment(r),
            Gdt = new DescriptorTable { Base = r.ReadUInt64(), Limit = r.ReadUInt16() },
            Idt = new DescriptorTable { Base = r.ReadUInt64(), Limit = r.ReadUInt16() },
            Cr0 = r.ReadUInt64(), Cr2 = r.ReadUInt64(), Cr3 = r.ReadUInt64(), Cr4 = r.ReadUInt64(),
            Cr8 = r.ReadUInt64(), Efer = r.ReadUInt64(), ApicBase = r.ReadUInt64(),
        };
        int n = ReadCount(r, "MSRs");
        var msrs = new MsrEntry[n];
        for (int i = 0; i < n; i++) msrs[i] = new MsrEntry(r.ReadUInt32(), r.ReadUInt64());
        return new VcpuState { Backend = backend, Id = id, Registers = g, SpecialRegisters = s, Msrs = msrs, Blobs = ReadBlobs(r) };
    }

    private static void WriteSegment(BinaryWriter w, Segment s)
    {
        w.Write(s.Base); w.Write(s.Limit); w.Write(s.Selector); w.Write(s.Type);
        w.Write(s.Present); w.Write(s.Dpl); w.Write(s.Db); w.Write(s.S); w.Write(s.L); w.Write(s.G); w.Write(s.Avl); w.Write(s.Unusable);
    }

    private static Segment ReadSegment(BinaryReader r) => new()
    {
        Base = r.ReadUInt64(), Limit = r.ReadUInt32(), Selector = r.ReadUInt16(), Type = r.ReadByte(),
        Present = r.ReadBoolean(), Dpl = r.ReadByte(), Db = r.ReadBoolean(), S = r.ReadBoolean(),
        L = r.ReadBoolean(), G = r.ReadBoolean(), Avl = r.ReadBoolean(), Unusable = r.ReadBoolean(),
    };

    private static void WriteBlobs(BinaryWriter w, IReadOnlyDictionary<string, byte[]> blobs)
    {
        w.Write(blobs.Count);
        foreach (var (name, blob) in blobs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.Write(name);
            w.Write(blob.Length);
            w.Write(blob);
        }
    }

    private static List<DeviceSection> ReadSections(BinaryReader r)
    {
        int n = ReadCount(r, "device sections");
        var sections = new List<DeviceSection>(n);
        for (int i = 0; i < n; i++)
        {
            string name = r.ReadString();
            int version = r.ReadInt32();
            int length = r.ReadInt32();
            if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position)
                throw new VmmException($"machine snapshot section '{name}' claims {length} bytes", "snapshot-decode");
            sections.Add(new DeviceSection(name, version, r.ReadBytes(length)));
        }
        return sections;
    }

    private static Dictionary<string, byte[]> ReadBlobs(BinaryReader r)
    {
        int n = ReadCount(r, "blobs");
        var blobs = new Dictionary<string, byte[]>(n);
        for (int i = 0; i < n; i++)
        {
            string name = r.ReadString();
            int length = r.ReadInt32();
            if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position)
                throw new VmmException($"machine snapshot blob '{name}' claims {length} bytes", "snapshot-decode");
            blobs[name] = r.ReadBytes(length);
        }
        return blobs;
    }
}
