namespace Cluster.Actors.Rebalancing;

/// <summary>A VM as the rebalance planner sees it.</summary>
/// <param name="VmId">The VM.</param>
/// <param name="Vcpus">Its vCPUs.</param>
/// <param name="MemoryBytes">Its memory (what a move copies).</param>
/// <param name="AntiAffinityGroup">Its anti-affinity group, or null.</param>
/// <param name="CpuLoad">CPU seconds per second it uses (its worker's cgroup's, or its vCPUs' guest time; see <see cref="Contracts.Hosts.PlacedVm"/>).</param>
/// <param name="RequiredLabels">
/// The host labels it requires, or null when its spec is unknown here: then a target must carry every
/// label of its current host (so whatever it required still holds).
/// </param>
/// <param name="DirtyBytesPerSecond">Its dirty rate measured by an earlier migration, or null to estimate it from the CPU load.</param>
/// <param name="Disks">Its disks (a target must see each image, with its identity), or null when its spec is unknown here.</param>
/// <param name="MemoryUsedBytes">The memory its worker holds, from its cgroup, or null when not measured.</param>
public sealed record PlannerVm(
    string VmId, int Vcpus, ulong MemoryBytes, string? AntiAffinityGroup, double CpuLoad,
    IReadOnlyDictionary<string, string>? RequiredLabels = null, double? DirtyBytesPerSecond = null,
    IReadOnlyList<Contracts.Vms.DiskSpec>? Disks = null, ulong? MemoryUsedBytes = null)
{
    /// <summary>
    /// What a live move copies at full size: its guest memory, but no more than its worker holds where that is measured
    /// (pages the guest never touched go as zero-page markers).
    /// </summary>
    public ulong CopiedBytes => MemoryUsedBytes is { } used ? Math.Min(MemoryBytes, used) : MemoryBytes;
}

/// <summary>A host as the rebalance planner sees it.</summary>
/// <param name="Host">Its address.</param>
/// <param name="Vcpus">Physical vCPUs (the denominator of its load).</param>
/// <param name="MemoryBytes">Memory for guests.</param>
/// <param name="Labels">Its labels.</param>
/// <param name="Draining">Whether it is unschedulable and to be emptied.</param>
/// <param name="Vms">The VMs on it.</param>
/// <param name="Disks">What it sees at the cluster's disk paths, by path (null: nothing reported).</param>
public sealed record PlannerHost(
    string Host, int Vcpus, ulong MemoryBytes, IReadOnlyDictionary<string, string> Labels, bool Draining, IReadOnlyList<PlannerVm> Vms,
    IReadOnlyDictionary<string, Contracts.Hosts.DiskSeen>? Disks = null);

/// <summary>
/// A move already under way (<paramref name="Active"/>: it counts against the limits) or finished but
/// not yet visible in the hosts' reports (settling); either way the planner sees the VM on <paramref name="To"/>.
/// </summary>
public sealed record PendingMove(string VmId, string From, string To, bool Active);

/// <summary>A completed move, remembered for hysteresis.</summary>
public sealed record RecentMove(string VmId, string From, string To, DateTime At);

/// <summary>Everything the planner decides from.</summary>
/// <param name="Hosts">Every host, draining ones included.</param>
/// <param name="Pending">Moves in flight or settling.</param>
/// <param name="History">Recent completed moves (the cool-down and the no-undo rule read them).</param>
/// <param name="Held">VMs not to move now (a failed move backing off).</param>
/// <param name="Now">The time of the decision (UTC).</param>
public sealed record RebalanceInput(
    IReadOnlyList<PlannerHost> Hosts, IReadOnlyList<PendingMove> Pending, IReadOnlyList<RecentMove> History,
    IReadOnlySet<string> Held, DateTime Now);
