using System.Collections.Immutable;
using Akka.Actor;
using Cluster.Actors.Runtime;

namespace Cluster.Actors.Clustering;

/// <summary>
/// The guests running on this host, as sources of their guest time for the <see cref="HostAgent"/>'s load accounting:
/// whoever runs a guest here (a vCPU supervisor, or the migration receiver for a guest that arrived before its VM actor)
/// registers it and tells the agent <see cref="GuestBooted"/> with the run id it got; the agent polls the figure by
/// VM id and run id. So the messages carry data, and the live guest stays on this host, in this registry.
/// </summary>
/// <remarks>
/// An immutable snapshot holder rather than an actor: the guest time is read on every status tick, synchronously, and
/// written only when a guest starts or ends here. The table is an <see cref="ImmutableDictionary{TKey,TValue}"/> replaced
/// as a whole by compare-and-swap; a reader works on the snapshot it read.
/// </remarks>
public sealed class GuestClocks : IExtension
{
    private ImmutableDictionary<string, (long Run, IGuestRuntime Guest)> _guests =
        ImmutableDictionary.Create<string, (long, IGuestRuntime)>(StringComparer.Ordinal);
    private long _lastRun;

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static GuestClocks Get(ActorSystem system) => system.WithExtension<GuestClocks, GuestClocksProvider>();

    /// <summary>Registers <paramref name="guest"/> as the one running <paramref name="vmId"/> here; its run id (the same one again for the same guest).</summary>
    public long Register(string vmId, IGuestRuntime guest)
    {
        while (true)
        {
            var before = Volatile.Read(ref _guests);
            if (before.TryGetValue(vmId, out var known) && ReferenceEquals(known.Guest, guest))
                return known.Run;
            var run = Interlocked.Increment(ref _lastRun);
            if (ReferenceEquals(Interlocked.CompareExchange(ref _guests, before.SetItem(vmId, (run, guest)), before), before))
                return run;
        }
    }

    /// <summary>Forgets <paramref name="guest"/> (it ended or left); its run id, or null when it was not the registered guest.</summary>
    public long? Forget(string vmId, IGuestRuntime guest)
    {
        while (true)
        {
            var before = Volatile.Read(ref _guests);
            if (!before.TryGetValue(vmId, out var known) || !ReferenceEquals(known.Guest, guest))
                return null;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _guests, before.Remove(vmId), before), before))
                return known.Run;
        }
    }

    /// <summary>
    /// The figures of run <paramref name="run"/> of <paramref name="vmId"/> now, or null when that run no longer runs here:
    /// its vCPU time, and CPU time and memory from the guest's cgroup where it has one (<see cref="IGuestRuntime.Accounting"/>).
    /// </summary>
    public GuestSample? Sample(string vmId, long run)
    {
        if (!Volatile.Read(ref _guests).TryGetValue(vmId, out var known) || known.Run != run)
            return null;
        var accounting = known.Guest.Accounting;
        var (vcpu, at) = known.Guest.GuestTimeRead;
        return new GuestSample(vcpu, accounting?.CpuTime, accounting?.MemoryBytes, known.Guest.Io) { VcpuAt = at, ReadAt = DateTime.UtcNow };
    }
}

/// <summary>One reading of a guest for the host's load accounting.</summary>
/// <param name="VcpuTime">Its vCPUs' time in the guest (<see cref="IGuestRuntime.GuestTime"/>: the wall clock while they run guest
/// code, so a busy vCPU counts fully even on a host whose cores are oversubscribed).</param>
/// <param name="CgroupCpu">The CPU time its cgroup accounted (every thread of its VMM worker), or null where it has none.</param>
/// <param name="MemoryBytes">The memory its process holds (its cgroup's working set), or null where it has no cgroup.</param>
/// <param name="Io">Its disk and network counters since it started (<see cref="IGuestRuntime.Io"/>), or null where unknown.</param>
public readonly record struct GuestSample(TimeSpan VcpuTime, TimeSpan? CgroupCpu, ulong? MemoryBytes, Cluster.Vmm.Devices.IoCounters? Io = null)
{
    /// <summary>The moment <see cref="VcpuTime"/> stands for (a worker's: when its last stats arrived).</summary>
    public DateTime VcpuAt { get; init; }

    /// <summary>When this sample was taken (the moment of the cgroup's figures, read now).</summary>
    public DateTime ReadAt { get; init; }

    /// <summary>
    /// The CPU time the load is counted from, with the moment it stands for: the cgroup's where <paramref name="cgroup"/>
    /// and it has one, else the vCPUs'.
    /// </summary>
    public (TimeSpan Cpu, DateTime At) Cpu(bool cgroup) => cgroup && CgroupCpu is { } c ? (c, ReadAt) : (VcpuTime, VcpuAt);
}

/// <summary>Creates the <see cref="GuestClocks"/> extension.</summary>
public sealed class GuestClocksProvider : ExtensionIdProvider<GuestClocks>
{
    public override GuestClocks CreateExtension(ExtendedActorSystem system) => new();
}
