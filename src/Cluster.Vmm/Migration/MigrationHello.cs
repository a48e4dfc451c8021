using System.Text;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The opening message of a migration: protocol version, a session id that the extra data
/// connections repeat, how many connections the source opens, and the machine's spec (backend,
/// CPU model, and the <see cref="MachineConfig"/> the target re-creates the machine from, disks
/// included: both hosts must see them at the same paths).
/// </summary>
public sealed record MigrationHello(uint Version, ulong Session, int Connections, BackendKind Backend, CpuModel Cpu, MachineConfig Config)
{
    private const int MaxStrings = 4096;

    /// <summary>The most connections a migration may use (the target refuses more in <see cref="MigrationTarget.CheckCompatibility"/> too).</summary>
    public const int MaxConnections = 64;

    /// <summary>The message as bytes (little-endian fields, UTF-8 length-prefixed strings).</summary>
    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms, Encoding.UTF8);
        w.Write(Version);
        w.Write(Session);
        w.Write(Connections);
        w.Write((int)Backend);
        w.Write(Cpu.Vendor);
        WriteStrings(w, Cpu.Features);
        w.Write(Config.Vcpus);
        w.Write(Config.MemoryBytes);
        WriteImage(w, Config.Image);
        WriteStrings(w, Config.Args);
        w.Write(Config.Disks.Count);
        foreach (var d in Config.Disks)
        {
            w.Write(d.Path);
            w.Write((byte)(d.Format is null ? 0 : (int)d.Format + 1));
            w.Write(d.ReadOnly);
            w.Write((byte)d.Cache);
            w.Write(d.Serial ?? "");
        }
        w.Flush();
        return ms.ToArray();
    }

    /// <summary>Reads a Hello. The version is read first, so that a later version is reported as such.</summary>
    /// <exception cref="VmmException">truncated or malformed bytes, or another protocol version.</exception>
    public static MigrationHello FromBytes(ReadOnlySpan<byte> bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes.ToArray(), writable: false), Encoding.UTF8);
        try
        {
            uint version = r.ReadUInt32();
            if (version != MigrationProtocol.Version)
                throw new VmmException($"migration protocol version {version} is not supported: this side speaks version {MigrationProtocol.Version}"
                    + (version < MigrationProtocol.Version ? " (the peer runs an older VMM)" : " (the peer runs a newer VMM)"), "migration-hello");
            ulong session = r.ReadUInt64();
            int connections = r.ReadInt32();
            if (connections is < 1 or > MaxConnections)
                throw new VmmException($"migration Hello asks for {connections} connections (1..{MaxConnections})", "migration-hello");
            var backend = (BackendKind)r.ReadInt32();
            var cpu = new CpuModel(r.ReadString(), ReadStrings(r));
            int vcpus = r.ReadInt32();
            if (vcpus is < 1 or > GuestLayout.MaxVcpus)
                throw new VmmException($"migration Hello has an absurd count of {vcpus} vCPUs (1..{GuestLayout.MaxVcpus})", "migration-hello");
            ulong memory = r.ReadUInt64();
            if (memory > GuestLayout.MaxMemoryBytes)
                throw new VmmException($"migration Hello has an absurd {memory} bytes of memory (at most {GuestLayout.MaxMemoryBytes})", "migration-hello");
            var image = ReadImage(r);
            var args = ReadStrings(r);
            var config = new MachineConfig { Vcpus = vcpus, MemoryBytes = memory, Image = image, Args = args, Disks = ReadDisks(r) };
            return new MigrationHello(version, session, connections, backend, cpu, config);
        }
        catch (EndOfStreamException e)
        {
            throw new VmmException("migration Hello is truncated", "migration-hello", inner: e);
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            // A string whose 7-bit encoded length is over-long or negative (found by fuzzing: tests/Cluster.Vmm.Tests/Fuzz).
            throw new VmmException($"migration Hello is malformed: {e.Message}", "migration-hello", inner: e);
        }
    }

    private static List<DiskConfig> ReadDisks(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 64) throw new VmmException($"migration Hello has an absurd count of {n} disks", "migration-hello");
        var disks = new List<DiskConfig>(n);
        for (int i = 0; i < n; i++)
        {
            string path = r.ReadString();
            byte format = r.ReadByte();
            if (format > 2) throw new VmmException($"migration Hello has unknown disk format {format}", "migration-hello");
            bool readOnly = r.ReadBoolean();
            byte cache = r.ReadByte();
            if (cache > 1) throw new VmmException($"migration Hello has unknown disk cache mode {cache}", "migration-hello");
            string serial = r.ReadString();
            disks.Add(new DiskConfig(path, format == 0 ? null : (DiskFormat)(format - 1), readOnly, (DiskCacheMode)cache, serial.Length == 0 ? null : serial));
        }
        return disks;
    }

    private static void WriteStrings(BinaryWriter w, IReadOnlyList<string> items)
    {
        w.Write(items.Count);
        foreach (var s in items) w.Write(s);
    }

    private static List<string> ReadStrings(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > MaxStrings) throw new VmmException($"migration Hello has an absurd list of {n} strings", "migration-hello");
        var list = new List<string>(n);
        for (int i = 0; i < n; i++) list.Add(r.ReadString());
        return list;
    }

    private static void WriteImage(BinaryWriter w, GuestImage image)
    {
        switch (image)
        {
            case BuiltInGuestImage b: w.Write((byte)1); w.Write(b.Name); break;
            case ElfGuestImage e: w.Write((byte)2); w.Write(e.Path); break;
            case FlatGuestImage f: w.Write((byte)3); w.Write(f.Path); w.Write(f.LoadAddress); break;
            case LinuxGuestImage l: w.Write((byte)4); w.Write(l.KernelPath); w.Write(l.InitrdPath ?? ""); w.Write(l.CommandLine); break;
            default: throw new VmmException($"guest image kind {image.GetType().Name} cannot be migrated", "migration-hello");
        }
    }

    private static GuestImage ReadImage(BinaryReader r) => r.ReadByte() switch
    {
        1 => new BuiltInGuestImage(r.ReadString()),
        2 => new ElfGuestImage(r.ReadString()),
        3 => new FlatGuestImage(r.ReadString(), r.ReadUInt64()),
        4 => ReadLinux(r),
        var k => throw new VmmException($"migration Hello has unknown guest image kind {k}", "migration-hello"),
    };

    private static LinuxGuestImage ReadLinux(BinaryReader r)
    {
        string kernel = r.ReadString(), initrd = r.ReadString(), cmdline = r.ReadString();
        return new LinuxGuestImage(kernel, initrd.Length == 0 ? null : initrd, cmdline);
    }
}
