using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Client;

namespace Cluster.Vmctl.Live;

/// <summary>
/// One refresh of <c>vmctl top</c>: the replies to the four questions it asks, each null when that
/// question went unanswered (<see cref="Errors"/> says why; a standalone node has no migrations or rebalancer).
/// </summary>
public sealed record ClusterSnapshot(
    DateTime At, HostList? Hosts, VmList? Vms, MigrationList? Migrations, RebalanceStatus? Rebalance, IReadOnlyList<string> Errors)
{
    /// <summary>Asks the four questions at once over <paramref name="client"/>.</summary>
    public static async Task<ClusterSnapshot> TakeAsync(IControlClient client, DateTime now)
    {
        var asks = new object[] { ListHosts.Instance, ListVms.Instance, ListMigrations.Instance, GetRebalanceStatus.Instance }
            .Select(m => LiveLoop.TryAskAsync(client, m)).ToArray();
        var answers = await Task.WhenAll(asks);
        var errors = new List<string>();
        T? Take<T>(int i, string what) where T : class
        {
            if (answers[i].Reply is T reply)
                return reply;
            errors.Add($"{what}: {answers[i].Error ?? $"unexpected reply {answers[i].Reply?.GetType().Name}"}");
            return null;
        }
        return new ClusterSnapshot(now, Take<HostList>(0, "hosts"), Take<VmList>(1, "VMs"), Take<MigrationList>(2, "migrations"),
            Take<RebalanceStatus>(3, "rebalancer"), errors);
    }
}
