using System.Text;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Storage;
using Microsoft.Win32.SafeHandles;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The payloads of the worker protocol (<see cref="WorkerProtocol"/>): <see cref="BinaryWriter"/> fields
/// in declaration order; strings length-prefixed UTF-8; a nullable value as a bool then the value;
/// durations as i64 ticks; enums as i32; lists as an i32 count then the items.
/// </summary>
public static class WorkerCodec
{
    private const int MaxCount = 1 << 16;

    /// <summary>A payload written by <paramref name="write"/>.</summary>
    public static byte[] Encode(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) write(w);
        return ms.ToArray();
    }

    /// <summary>Reads a payload with <paramref name="read"/>, which must consume all of it.</summary>
    /// <exception cref="VmmException">the payload is truncated, too long or malformed.</exception>
    public static T Decode<T>(byte[] payload, Func<BinaryReader, T> read)
    {
        using var ms = new MemoryStream(payload, writable: false);
        using var r = new BinaryReader(ms, Encoding.UTF8);
        try
        {
            var value = read(r);
            if (ms.Position != ms.Length)
                throw new VmmException($"worker payload has {ms.Length - ms.Position} trailing bytes", "worker-protocol");
            return value;
        }
        catch (Exception e) when (e is IOException or ArgumentException or FormatException or InvalidDataException)
        {
            throw new VmmException($"malformed worker payload: {e.Message}", "worker-protocol", inner: e);
        }
    }

    /// <summary>Writes a string that may be null.</summary>
    public static void WriteNullable(this BinaryWriter w, string? s)
    {
        w.Write(s is not null);
        if (s is not null) w.Write(s);
    }

    /// <summary>Reads a string written by <see cref="WriteNullable(BinaryWriter, string?)"/>.</summary>
    public static string? ReadNullableString(this BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    /// <summary>Writes bytes with their length.</summary>
    public static void WriteBytes(this BinaryWriter w, ReadOnlySpan<byte> bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    /// <summary>Reads bytes written by <see cref="WriteBytes"/>.</summary>
    public static byte[] ReadBytes(this BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > WorkerProtocol.MaxPayload) throw new InvalidDataException($"byte count {n}");
        var bytes = r.ReadBytes(n);
        return bytes.Length == n ? bytes : throw new EndOfStreamException();
    }

    private static int ReadCount(BinaryReader r)
    {
        int n = r.ReadInt32();
        return n is >= 0 and <= MaxCount ? n : throw new InvalidDataException($"count {n}");
    }

    /// <summary>Writes a machine configuration.</summary>
    public static void Write(this BinaryWriter w, MachineConfig c)
    {
        w.Write(c.Vcpus);
        w.Write(c.MemoryBytes);
        switch (c.Image)
        {
            case BuiltInGuestImage b: w.Write((byte)1); w.Write(b.Name); break;
            case ElfGuestImage e: w.Write((byte)2); w.Write(e.Path); break;
            case FlatGuestImage f: w.Write((byte)3); w.Write(f.Path); w.Write(f.LoadAddress); break;
            case LinuxGuestImage l: w.Write((byte)4); w.Write(l.KernelPath); w.WriteNullable(l.InitrdPath); w.Write(l.CommandLine); break;
            default: throw new VmmException($"guest image kind {c.Image?.GetType().Name ?? "null"} cannot be sent to a worker", "worker-protocol");
        }
        w.Write(c.Args.Count);
        foreach (var a in c.Args) w.Write(a);
        w.Write(c.Disks.Count);
        foreach (var d in c.Disks)
        {
            w.Write(d.Path);
            w.Write(d.Format is { } f ? (int)f : -1);
            w.Write(d.ReadOnly);
            w.Write((int)d.Cache);
            w.WriteNullable(d.Serial);
        }
    }

    /// <summary>Reads a machine configuration.</summary>
    public static MachineConfig ReadMachineConfig(this BinaryReader r)
    {
        int vcpus = r.ReadInt32();
        if (vcpus is < 1 or > GuestLayout.MaxVcpus) throw new InvalidDataException($"vCPU count {vcpus}");
        ulong memory = r.ReadUInt64();
        if (memory > GuestLayout.MaxMemoryBytes) throw new InvalidDataException($"memory of {memory} bytes");
        GuestImage image = r.ReadByte() switch
        {
            1 => new BuiltInGuestImage(r.ReadString()),
            2 => new ElfGuestImage(r.ReadString()),
            3 => new FlatGuestImage(r.ReadString(), r.ReadUInt64()),
            4 => new LinuxGuestImage(r.ReadString(), r.ReadNullableString(), r.ReadString()),
            var k => throw new InvalidDataException($"guest image kind {k}"),
        };
        var args = new List<string>();
        for (int i = ReadCount(r); i > 0; i--) args.Add(r.ReadString());
        var disks = new List<DiskConfig>();
        for (int i = ReadCount(r); i > 0; i--)
        {
            string path = r.ReadString();
            int format = r.ReadInt32();
            bool readOnly = r.ReadBoolean();
            var cache = (DiskCacheMode)r.ReadInt32();
            disks.Add(new DiskConfig(path, format < 0 ? null : (DiskFormat)format, readOnly, cache, r.ReadNullableString()));
        }
        return new MachineConfig { Vcpus = vcpus, MemoryBytes = memory, Image = image, Args = args, Disks = disks };
    }

    /// <summary>Writes a Create request as a worker of <paramref name="version"/> reads it (version 2 added the disks' files, 4 the NICs).</summary>
    public static void Write(this BinaryWriter w, WorkerCreate c, uint version = WorkerProtocol.Version)
    {
        w.Write(c.VmId);
        w.Write(c.Epoch);
        w.Write(c.Machine);
        w.Write(c.PermitRequired);
        w.Write(c.InitialPermit.Ticks);
        if (version >= 2) w.WriteDescriptors(c.Kvm, c.Machine);
        if (version >= 4) w.WriteNics(c.Machine);
    }

    /// <summary>Reads a Create request of <paramref name="version"/>; its disks' files take <paramref name="descriptors"/> (the frame's, in order).</summary>
    /// <exception cref="VmmException">the files listed are not the descriptors that came (the caller still owns them then).</exception>
    public static WorkerCreate ReadCreate(this BinaryReader r, IReadOnlyList<SafeFileHandle>? descriptors = null, uint version = WorkerProtocol.Version)
    {
        var create = new WorkerCreate(r.ReadString(), r.ReadInt64(), r.ReadMachineConfig())
        {
            PermitRequired = r.ReadBoolean(), InitialPermit = TimeSpan.FromTicks(r.ReadInt64()),
        };
        if (version < 2) return create;
        var (kvm, machine) = r.ReadDescriptors(create.Machine, descriptors ?? []);
        return create with { Kvm = kvm, Machine = version >= 4 ? machine with { Nics = r.ReadNics() } : machine };
    }

    /// <summary>The NICs of a machine (version 4): i32 count, then per NIC string MAC, string tap name, i32 MTU; the worker
    /// opens each tap by name (a persistent tap that the node made and joined to its bridge, owned by the worker's user).</summary>
    private static void WriteNics(this BinaryWriter w, MachineConfig config)
    {
        w.Write(config.Nics.Count);
        foreach (var nic in config.Nics)
        {
            if (nic.TapFd is not null || nic.Tap is null)
                throw new VmmException("a NIC goes to a worker by its tap's name, not by a descriptor", "worker-protocol");
            w.Write(nic.Mac);
            w.Write(nic.Tap);
            w.Write(nic.Mtu);
        }
    }

    private static List<NicConfig> ReadNics(this BinaryReader r)
    {
        var nics = new List<NicConfig>();
        for (int i = ReadCount(r); i > 0; i--)
            nics.Add(new NicConfig(r.ReadString(), r.ReadString(), r.ReadInt32()));
        return nics;
    }

    /// <summary>The descriptors a request passes, in the order <see cref="WriteDescriptors"/> lists them: /dev/kvm, then the
    /// files of <paramref name="config"/>'s disks.</summary>
    public static IReadOnlyList<SafeFileHandle> Descriptors(SafeFileHandle? kvm, MachineConfig config) =>
        [.. kvm is null ? [] : new[] { kvm }, .. config.Disks.SelectMany(d => d.Files?.Files ?? []).Select(f => f.Handle)];

    /// <summary>The descriptors passed with the request: bool /dev/kvm (then it is the first); then per disk the files: i32
    /// count, then string path and bool writable for each; the descriptors travel in the frame (SCM_RIGHTS) in this order.</summary>
    private static void WriteDescriptors(this BinaryWriter w, SafeFileHandle? kvm, MachineConfig config)
    {
        w.Write(kvm is not null);
        w.Write(config.Disks.Count);
        foreach (var d in config.Disks)
        {
            var files = d.Files?.Files ?? [];
            w.Write(files.Count);
            foreach (var f in files)
            {
                w.Write(f.Path);
                w.Write(f.Writable);
            }
        }
    }

    private static (SafeFileHandle? Kvm, MachineConfig Config) ReadDescriptors(this BinaryReader r, MachineConfig config,
        IReadOnlyList<SafeFileHandle> descriptors)
    {
        bool hasKvm = r.ReadBoolean();
        if (hasKvm && descriptors.Count == 0)
            throw new VmmException("/dev/kvm was listed and no descriptor came", "worker-protocol");
        int disks = r.ReadInt32();
        if (disks != config.Disks.Count)
            throw new VmmException($"files for {disks} disks were listed; the machine has {config.Disks.Count}", "worker-protocol");
        var lists = new List<List<DiskFile>>();
        int next = hasKvm ? 1 : 0;
        for (int i = 0; i < disks; i++)
        {
            int count = r.ReadInt32();
            var list = new List<DiskFile>();
            for (int j = 0; j < count; j++)
            {
                string path = r.ReadString();
                bool writable = r.ReadBoolean();
                if (next >= descriptors.Count)
                    throw new VmmException($"more files were listed than the {descriptors.Count} descriptors that came", "worker-protocol");
                list.Add(new DiskFile(path, writable, descriptors[next++]));
            }
            lists.Add(list);
        }
        if (next != descriptors.Count)
            throw new VmmException($"{descriptors.Count} descriptors came for {next} files listed", "worker-protocol");
        var kvm = hasKvm ? descriptors[0] : null;
        if (lists.All(l => l.Count == 0)) return (kvm, config);
        return (kvm, config with { Disks = [.. config.Disks.Select((d, i) => lists[i].Count == 0 ? d : d with { Files = new DiskFiles(lists[i]) })] });
    }

    /// <summary>Writes a ListenIncoming request as a worker of <paramref name="version"/> reads it (version 2 added the disks' files).</summary>
    public static void Write(this BinaryWriter w, WorkerIncoming c, uint version = WorkerProtocol.Version)
    {
        w.Write(c.VmId);
        w.Write(c.Epoch);
        w.Write(c.Machine);
        w.Write(c.BindHost);
        w.Write(c.Port);
        w.Write(c.IoTimeout.Ticks);
        // The expected memory size of versions 1 and 2, kept in place: always the machine's own.
        w.Write(true);
        w.Write(c.Machine.MemoryBytes);
        w.Write(c.PermitRequired);
        w.Write(c.InitialPermit.Ticks);
        if (version >= 3) w.Write(c.Encrypted);
        if (version >= 2) w.WriteDescriptors(c.Kvm, c.Machine);
        if (version >= 4) w.WriteNics(c.Machine);
    }

    /// <summary>Reads a ListenIncoming request of <paramref name="version"/>; its disks' files take <paramref name="descriptors"/> (the frame's, in order).</summary>
    /// <exception cref="VmmException">the files listed are not the descriptors that came (the caller still owns them then).</exception>
    public static WorkerIncoming ReadIncoming(this BinaryReader r, IReadOnlyList<SafeFileHandle>? descriptors = null, uint version = WorkerProtocol.Version)
    {
        var incoming = new WorkerIncoming(r.ReadString(), r.ReadInt64(), r.ReadMachineConfig())
        {
            BindHost = r.ReadString(), Port = r.ReadInt32(), IoTimeout = TimeSpan.FromTicks(r.ReadInt64()),
        };
        bool hasExpected = r.ReadBoolean();
        ulong expected = r.ReadUInt64();
        if (hasExpected && expected != incoming.Machine.MemoryBytes)
            throw new InvalidDataException($"expected memory size {expected} is not the machine's {incoming.Machine.MemoryBytes}");
        incoming = incoming with { PermitRequired = r.ReadBoolean(), InitialPermit = TimeSpan.FromTicks(r.ReadInt64()) };
        if (version >= 3) incoming = incoming with { Encrypted = r.ReadBoolean() };
        if (version < 2) return incoming;
        var (kvm, machine) = r.ReadDescriptors(incoming.Machine, descriptors ?? []);
        return incoming with { Kvm = kvm, Machine = version >= 4 ? machine with { Nics = r.ReadNics() } : machine };
    }

    /// <summary>Writes the credentials of a prepared target: the token, then the pin (or none: plaintext).</summary>
    public static void Write(this BinaryWriter w, MigrationCredentials c)
    {
        w.WriteBytes(c.Token);
        w.Write(c.CertificatePin is not null);
        if (c.CertificatePin is not null) w.WriteBytes(c.CertificatePin);
    }

    /// <summary>Reads credentials written by <see cref="Write(BinaryWriter, MigrationCredentials)"/>, checking their sizes.</summary>
    public static MigrationCredentials ReadCredentials(this BinaryReader r)
    {
        var token = r.ReadBytes();
        var pin = r.ReadBoolean() ? r.ReadBytes() : null;
        try { return new MigrationCredentials(token, pin).Validated(); }
        catch (VmmException e) { throw new InvalidDataException(e.Message, e); }
    }

    /// <summary>Writes migration options.</summary>
    public static void Write(this BinaryWriter w, WorkerMigrationOptions o)
    {
        w.Write(o.DowntimeLimit.Ticks);
        w.Write(o.DowntimeTarget.Ticks);
        w.Write(o.MaxBandwidth);
        w.Write(o.Connections);
        w.Write((int)o.Mode);
        w.Write(o.AllowPostCopy);
        w.Write(o.IoTimeout.Ticks);
        w.Write(o.Xbzrle);
    }

    /// <summary>Reads migration options.</summary>
    public static WorkerMigrationOptions ReadMigrationOptions(this BinaryReader r) => new()
    {
        DowntimeLimit = TimeSpan.FromTicks(r.ReadInt64()), DowntimeTarget = TimeSpan.FromTicks(r.ReadInt64()),
        MaxBandwidth = r.ReadInt64(), Connections = r.ReadInt32(), Mode = (MigrationMode)r.ReadInt32(),
        AllowPostCopy = r.ReadBoolean(), IoTimeout = TimeSpan.FromTicks(r.ReadInt64()), Xbzrle = r.ReadBoolean(),
    };

    /// <summary>Writes a progress report.</summary>
    public static void Write(this BinaryWriter w, MigrationProgress p)
    {
        w.Write((int)p.Phase);
        w.Write(p.Round);
        w.Write(p.PagesSent);
        w.Write(p.WireBytes);
        w.Write(p.RemainingDirtyBytes);
        w.Write(p.TransferRate);
        w.Write(p.DirtyRate);
        w.Write(p.Eta.Ticks);
        w.Write(p.ThrottlePercent);
        w.Write(p.PagesRemaining);
    }

    /// <summary>Reads a progress report.</summary>
    public static MigrationProgress ReadProgress(this BinaryReader r) =>
        new((MigrationPhase)r.ReadInt32(), r.ReadInt32(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(),
            r.ReadDouble(), r.ReadDouble(), TimeSpan.FromTicks(r.ReadInt64()), r.ReadInt32())
        { PagesRemaining = r.ReadInt64() };

    /// <summary>Writes a migration result.</summary>
    public static void Write(this BinaryWriter w, MigrationResult m)
    {
        w.Write(m.Succeeded);
        w.WriteNullable(m.FailureReason);
        w.Write(m.TotalTime.Ticks);
        w.Write(m.Downtime.Ticks);
        w.Write(m.WireBytes);
        w.Write(m.Rounds);
        w.Write(m.PagesSent);
        w.Write(m.ZeroPages);
        w.Write(m.DeltaPages);
        w.Write(m.FinalPages);
        w.Write(m.MaxThrottlePercent);
        w.Write((int)m.ModeUsed);
        w.Write(m.PostCopyPages);
        w.Write(m.PagesFetchedOnDemand);
        w.Write(m.OwnershipMoved);
        w.Write(m.ReadyAfter.Ticks);
        w.Write(m.CommitTime.Ticks);
        w.Write(m.ResumeTime.Ticks);
    }

    /// <summary>Reads a migration result.</summary>
    public static MigrationResult ReadMigrationResult(this BinaryReader r)
    {
        var m = new MigrationResult
        {
            Succeeded = r.ReadBoolean(), FailureReason = r.ReadNullableString(), TotalTime = TimeSpan.FromTicks(r.ReadInt64()),
            Downtime = TimeSpan.FromTicks(r.ReadInt64()), WireBytes = r.ReadInt64(), Rounds = r.ReadInt32(), PagesSent = r.ReadInt64(),
            ZeroPages = r.ReadInt64(), DeltaPages = r.ReadInt64(), FinalPages = r.ReadInt64(), MaxThrottlePercent = r.ReadInt32(),
            ModeUsed = (MigrationMode)r.ReadInt32(), PostCopyPages = r.ReadInt64(), PagesFetchedOnDemand = r.ReadInt64(),
            OwnershipMoved = r.ReadBoolean(),
        };
        // Appended within version 1: a worker built before them (one re-attached after an upgrade) does not send them.
        if (r.BaseStream.Position == r.BaseStream.Length) return m;
        m = m with { ReadyAfter = TimeSpan.FromTicks(r.ReadInt64()), CommitTime = TimeSpan.FromTicks(r.ReadInt64()) };
        if (r.BaseStream.Position == r.BaseStream.Length) return m;
        return m with { ResumeTime = TimeSpan.FromTicks(r.ReadInt64()) };
    }

    /// <summary>Writes an incoming migration's result.</summary>
    public static void Write(this BinaryWriter w, WorkerIncomingResult m)
    {
        w.Write(m.Succeeded);
        w.WriteNullable(m.FailureReason);
        w.Write(m.BytesReceived);
        w.Write(m.PagesReceived);
        w.Write(m.RestoreTime.Ticks);
        w.Write(m.PostCopyPages);
        w.Write(m.PagesRequested);
    }

    /// <summary>Reads an incoming migration's result.</summary>
    public static WorkerIncomingResult ReadIncomingResult(this BinaryReader r) => new()
    {
        Succeeded = r.ReadBoolean(), FailureReason = r.ReadNullableString(), BytesReceived = r.ReadInt64(),
        PagesReceived = r.ReadInt64(), RestoreTime = TimeSpan.FromTicks(r.ReadInt64()), PostCopyPages = r.ReadInt64(),
        PagesRequested = r.ReadInt64(),
    };

    /// <summary>Writes a machine exit.</summary>
    public static void Write(this BinaryWriter w, MachineExit e)
    {
        w.Write((int)e.Kind);
        w.Write(e.ExitStatus.HasValue);
        w.Write(e.ExitStatus ?? 0);
        w.Write(e.Reason);
        w.Write(e.VcpuId);
    }

    /// <summary>Reads a machine exit.</summary>
    public static MachineExit ReadExit(this BinaryReader r)
    {
        var kind = (MachineExitKind)r.ReadInt32();
        bool hasStatus = r.ReadBoolean();
        int status = r.ReadInt32();
        return new MachineExit(kind, hasStatus ? status : null, r.ReadString(), r.ReadInt32());
    }

    /// <summary>Writes a worker's info.</summary>
    public static void Write(this BinaryWriter w, WorkerInfo i)
    {
        w.Write(i.Name);
        w.Write(i.Pid);
        w.Write(i.ProtocolVersion);
        w.WriteNullable(i.VmId);
        w.Write(i.Epoch);
        w.Write((int)i.State);
        w.Write(i.Exit is not null);
        if (i.Exit is not null) w.Write(i.Exit);
        w.Write(i.PermitLapsed);
        w.Write(i.PermitRemaining.HasValue);
        w.Write((i.PermitRemaining ?? TimeSpan.Zero).Ticks);
        w.Write(i.ConsoleOffset);
        w.WriteBytes(i.ConsoleHistory);
    }

    /// <summary>Reads a worker's info.</summary>
    public static WorkerInfo ReadInfo(this BinaryReader r)
    {
        var info = new WorkerInfo
        {
            Name = r.ReadString(), Pid = r.ReadInt32(), ProtocolVersion = r.ReadUInt32(), VmId = r.ReadNullableString(),
            Epoch = r.ReadInt64(), State = (WorkerVmState)r.ReadInt32(),
        };
        var exit = r.ReadBoolean() ? r.ReadExit() : null;
        bool lapsed = r.ReadBoolean();
        bool hasRemaining = r.ReadBoolean();
        var remaining = TimeSpan.FromTicks(r.ReadInt64());
        return info with
        {
            Exit = exit, PermitLapsed = lapsed, PermitRemaining = hasRemaining ? remaining : null,
            ConsoleOffset = r.ReadInt64(), ConsoleHistory = r.ReadBytes(),
        };
    }

    /// <summary>Writes a worker's stats as a worker of protocol <paramref name="version"/> sends them (the I/O counters from 5 on).</summary>
    public static void Write(this BinaryWriter w, WorkerStats s, uint version)
    {
        w.Write((int)s.State);
        w.Write(s.GuestCpuTime.Ticks);
        w.Write(s.RssBytes);
        if (version < 5)
            return;
        var io = s.Io ?? IoCounters.Zero;
        foreach (var value in (ReadOnlySpan<long>)[io.DiskReadBytes, io.DiskWriteBytes, io.DiskReadOps, io.DiskWriteOps, io.NetRxBytes, io.NetTxBytes, io.NetRxPackets, io.NetTxPackets])
            w.Write(value);
    }

    /// <summary>Reads the stats of a worker of protocol <paramref name="version"/> (no I/O counters before 5).</summary>
    public static WorkerStats ReadStats(this BinaryReader r, uint version)
    {
        var stats = new WorkerStats((WorkerVmState)r.ReadInt32(), TimeSpan.FromTicks(r.ReadInt64()), r.ReadInt64());
        return version < 5 ? stats : stats with
        {
            Io = new IoCounters(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64()),
        };
    }
}
