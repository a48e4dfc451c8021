using System.Collections.Immutable;
using Akka.Actor;
using Cluster.Contracts.Hosts;

namespace Cluster.Actors.Placement;

/// <summary>
/// This node's picture of the cluster for placement, shared between actors and the shard allocation
/// strategy (which is not an actor): the latest <see cref="HostStatus"/> of every host and the
/// scheduler's decisions and the unschedulable (drained) hosts. Written by the HostDirectory (from the cluster-wide topics) and by the
/// scheduler; read anywhere.
/// </summary>
/// <remarks>
/// An immutable snapshot holder rather than an actor: the allocation strategy reads it synchronously on the
/// coordinator, and the scheduler's placement must not wait on a round trip. Each table is an immutable collection
/// replaced as a whole (<see cref="ImmutableInterlocked"/> for the dictionaries, a volatile reference for the set);
/// a reader takes one snapshot of each and computes on it.
/// </remarks>
public sealed class PlacementBoard : IExtension
{
    private ImmutableDictionary<string, (HostStatus Status, DateTime Seen)> _hosts =
        ImmutableDictionary.Create<string, (HostStatus, DateTime)>(StringComparer.Ordinal);
    private ImmutableDictionary<string, (PlacementDecided Decision, DateTime At)> _decisions =
        ImmutableDictionary.Create<string, (PlacementDecided, DateTime)>(StringComparer.Ordinal);
    private volatile ImmutableHashSet<string> _unschedulable = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

    /// <summary>The board of <paramref name="system"/>.</summary>
    public static PlacementBoard Get(ActorSystem system) => system.WithExtension<PlacementBoard, PlacementBoardProvider>();

    /// <summary>A host status older than this is ignored (its host is presumed gone).</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Records the latest status of a host.</summary>
    public void Report(HostStatus status) => ImmutableInterlocked.Update(ref _hosts, d => d.SetItem(status.Host, (status, DateTime.UtcNow)));

    /// <summary>Forgets a host (it left or was downed).</summary>
    public void RemoveHost(string host) => ImmutableInterlocked.TryRemove(ref _hosts, host, out _);

    /// <summary>Records a placement decision.</summary>
    public void Decide(PlacementDecided decision) =>
        ImmutableInterlocked.Update(ref _decisions, d => d.SetItem(decision.VmId, (decision, DateTime.UtcNow)));

    /// <summary>Forgets the decision for a deleted VM.</summary>
    public void Release(string vmId) => ImmutableInterlocked.TryRemove(ref _decisions, vmId, out _);

    /// <summary>The hosts that take no new VMs (drained), as the rebalancer last published them.</summary>
    public IReadOnlySet<string> Unschedulable => _unschedulable;

    /// <summary>Replaces the set of unschedulable hosts.</summary>
    public void SetUnschedulable(IEnumerable<string> hosts) => _unschedulable = hosts.ToImmutableHashSet(StringComparer.Ordinal);

    /// <summary>The decision for <paramref name="vmId"/>, or null.</summary>
    public PlacementDecided? DecisionFor(string vmId) => Volatile.Read(ref _decisions).TryGetValue(vmId, out var d) ? d.Decision : null;

    /// <summary>Every placement decision this node knows (one per VM).</summary>
    public IReadOnlyList<PlacementDecided> Decisions() => [.. Volatile.Read(ref _decisions).Values.Select(d => d.Decision)];

    /// <summary>The fresh statuses of every known host, ordered by address.</summary>
    public IReadOnlyList<HostStatus> Hosts()
    {
        var now = DateTime.UtcNow;
        return [.. Volatile.Read(ref _hosts).Values.Where(h => now - h.Seen < StaleAfter).Select(h => h.Status).OrderBy(h => h.Host, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The hosts as placement sees them: each host's reported VMs plus decisions for it younger than
    /// <paramref name="pendingFor"/> that its report does not show yet (so a burst of creations does
    /// not overbook a host between two reports). Restricted to <paramref name="among"/> when given.
    /// Unschedulable hosts are included, marked <see cref="HostView.Unschedulable"/>, so the
    /// <see cref="Placer"/> never chooses them.
    /// </summary>
    public IReadOnlyList<HostView> Views(TimeSpan pendingFor, IReadOnlySet<string>? among = null)
    {
        var now = DateTime.UtcNow;
        var unschedulable = _unschedulable;
        var hosts = Hosts().Where(h => among is null || among.Contains(h.Host)).ToList();
        var reported = hosts.SelectMany(h => h.Vms.Select(v => v.VmId)).ToHashSet(StringComparer.Ordinal);
        var pending = Volatile.Read(ref _decisions).Values
            .Where(d => now - d.At < pendingFor && !reported.Contains(d.Decision.VmId))
            .Select(d => d.Decision)
            .ToLookup(d => d.Host, StringComparer.Ordinal);
        return [.. hosts.Select(h => new HostView(h.Host, h.Vcpus, h.MemoryBytes, h.Labels,
            [.. h.Vms, .. pending[h.Host].Select(d => new PlacedVm(d.Spec.Id, d.Spec.Vcpus, d.Spec.MemoryBytes, d.Spec.AntiAffinityGroup))],
            unschedulable.Contains(h.Host))
        {
            Disks = h.Disks.GroupBy(d => d.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal),
        })];
    }
}

/// <summary>Creates the <see cref="PlacementBoard"/> extension.</summary>
public sealed class PlacementBoardProvider : ExtensionIdProvider<PlacementBoard>
{
    public override PlacementBoard CreateExtension(ExtendedActorSystem system) => new();
}
