using Cluster.Actors.Persistence;

namespace Cluster.Node.Hosting;

/// <summary>The cluster-mode arguments of <c>cluster-node run</c> (present when at least one --seed is given).</summary>
/// <param name="Seeds">Seed nodes ("host:port"); a node listing itself first starts the cluster.</param>
/// <param name="Roles">Cluster roles: host (runs VMs) and/or control (serves the control plane only).</param>
/// <param name="Journal">The shared journal; null for the data directory's SQLite file (one machine only).</param>
/// <param name="Labels">Host labels for placement.</param>
/// <param name="Vcpus">vCPU capacity (0: the machine's).</param>
/// <param name="MemoryBytes">Memory capacity (0: three quarters of the machine's).</param>
/// <param name="RunLog">File of guest run intervals, or null.</param>
/// <param name="Rebalance">The rebalancer's mode until an operator sets one (off, recommend, automatic); null for hocon's.</param>
public sealed record ClusterOptions(
    IReadOnlyList<string> Seeds, IReadOnlyList<string> Roles, JournalLocation? Journal,
    IReadOnlyDictionary<string, string> Labels, int Vcpus, ulong MemoryBytes, string? RunLog, string? Rebalance = null)
{
    /// <summary>No seeds yet, role host, machine capacity.</summary>
    public static ClusterOptions Empty { get; } = new([], ["host"], null, new Dictionary<string, string>(), 0, 0, null);
}
