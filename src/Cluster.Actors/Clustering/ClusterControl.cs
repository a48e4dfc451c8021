using Akka.Actor;
using Akka.Cluster;
using Cluster.Actors.Placement;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Clustering;

/// <summary>
/// The control plane's entry on every node (at <see cref="Path"/>, registered with the
/// ClusterClientReceptionist): validates specs, asks the scheduler singleton for admission, creates the
/// VM through the shard region, routes every other VM command to its entity, and answers host-level
/// requests (list hosts, list VMs and migrations across hosts, leave). Messages for the rebalancer
/// (<see cref="Contracts.Rebalancing"/>) go to the actor given as <c>rebalancer</c>, when there is one; network commands
/// go to the network registry singleton, which gives a new VM's NICs their MACs and addresses before admission and
/// frees them when the create fails or the VM is deleted.
/// </summary>
public sealed class ClusterControl : ReceiveActor
{
    /// <summary>The actor name under /user (the same as the single-node manager's, so clients address both alike).</summary>
    public const string Name = "vms";

    /// <summary>The path clients send to.</summary>
    public const string Path = "/user/" + Name;

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public ClusterControl(IActorRef region, IActorRef scheduler, VmSpecValidator validator, IActorRef networks, IActorRef? rebalancer = null)
    {
        var board = PlacementBoard.Get(Context.System);
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<CreateVm>(create =>
        {
            if (validator.Validate(create.Spec) is { } failure)
            {
                Sender.Tell(failure);
                return;
            }
            Create(create, region, scheduler, networks).PipeTo(Sender);
        });
        Receive<DeleteVm>(delete => Delete(delete, region, scheduler, networks).PipeTo(Sender));
        Receive<UpdateVmSpec>(update =>
        {
            if (validator.Validate(update.Spec) is { } failure)
                Sender.Tell(failure);
            else
                region.Forward(update);
        });
        Receive<INetworkCommand>(command => networks.Forward(command));
        Receive<IVmCommand>(command => region.Forward(command));
        Receive<ListMigrations>(_ => ListMigrationsAll(HostsToAsk(board, cluster)).PipeTo(Sender));
        if (rebalancer is not null)
        {
            Receive<Contracts.Rebalancing.DrainHost>(m => rebalancer.Forward(m));
            Receive<Contracts.Rebalancing.UndrainHost>(m => rebalancer.Forward(m));
            Receive<Contracts.Rebalancing.SetRebalanceMode>(m => rebalancer.Forward(m));
            Receive<Contracts.Rebalancing.GetRebalanceStatus>(m => rebalancer.Forward(m));
        }
        Receive<ListHosts>(_ => Sender.Tell(new HostList(board.Hosts())));
        Receive<ListVms>(_ => ListAll(HostsToAsk(board, cluster)).PipeTo(Sender));
        Receive<LeaveHost>(leave =>
        {
            var members = cluster.State.Members.Where(m => m.Status == MemberStatus.Up).ToList();
            var member = members.FirstOrDefault(m => $"{m.Address.Host}:{m.Address.Port}" == leave.Host);
            if (member is null)
            {
                Sender.Tell(new HostNotFound(leave.Host, [.. members.Select(m => $"{m.Address.Host}:{m.Address.Port}")]));
                return;
            }
            cluster.Leave(member.Address);
            Sender.Tell(new HostLeaving(leave.Host));
        });
    }

    /// <summary>
    /// The hosts a cluster-wide listing asks: every Up (or WeaklyUp) member with the host role, and every host whose status is
    /// fresh on this node's board. Membership is what the cluster agrees on; the board hears of a host only through its
    /// status reports (pub-sub), which a restarted host or a lossy network can leave missing for a while, and a listing
    /// made from the board alone then left that host's VMs out as if they did not exist (the nemesis, seed 602).
    /// </summary>
    public static IReadOnlyList<string> HostsToAsk(IEnumerable<string> reported, IEnumerable<(string Host, MemberStatus Status, bool IsHost)> members) =>
        [.. members.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp && m.IsHost)
            .Select(m => m.Host)
            .Union(reported, StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];

    private static IReadOnlyList<string> HostsToAsk(PlacementBoard board, Akka.Cluster.Cluster cluster) =>
        HostsToAsk(board.Hosts().Select(h => h.Host),
            cluster.State.Members.Select(m => ($"{m.Address.Host}:{m.Address.Port}", m.Status, m.HasRole(HostRole))));

    /// <summary>The cluster role of the nodes that run VMs (sharding's role).</summary>
    public const string HostRole = "host";

    public static Props Props(IActorRef region, IActorRef scheduler, VmSpecValidator validator, IActorRef networks, IActorRef? rebalancer = null) =>
        Akka.Actor.Props.Create(() => new ClusterControl(region, scheduler, validator, networks, rebalancer));

    private static async Task<object> Create(CreateVm create, IActorRef region, IActorRef scheduler, IActorRef networks)
    {
        if (create.Spec.Nics.Count > 0)
        {
            var assigned = await networks.Ask<object>(new AssignNics(create.VmId, create.Spec.Nics), AskTimeout);
            if (assigned is not NicsAssigned nics)
                return assigned;
            create = new CreateVm(create.Spec with { Nics = nics.Nics });
        }
        var created = false;
        try
        {
            var admission = await scheduler.Ask<object>(create, AskTimeout);
            if (admission is not PlacementDecided decided)
                return admission;
            var reply = await region.Ask<object>(create, AskTimeout);
            created = reply is VmCommandAccepted;
            return reply is VmCommandAccepted accepted ? new VmCreated(accepted.VmId, accepted.Status, decided.Host) : reply;
        }
        finally
        {
            if (!created && create.Spec.Nics.Count > 0)
                networks.Tell(new ReleaseNics(create.VmId));
        }
    }

    private static async Task<object> Delete(DeleteVm delete, IActorRef region, IActorRef scheduler, IActorRef networks)
    {
        var reply = await region.Ask<object>(delete, AskTimeout);
        if (reply is VmCommandAccepted)
        {
            scheduler.Tell(new PlacementReleased(delete.VmId));
            networks.Tell(new ReleaseNics(delete.VmId));
        }
        return reply;
    }

    private async Task<object> ListMigrationsAll(IEnumerable<string> hosts)
    {
        var system = Context.System;
        var asks = hosts.Select(h => AskHost(system, h, ListMigrations.Instance)).ToList();
        var lists = await Task.WhenAll(asks);
        return new MigrationList([.. lists.OfType<MigrationList>().SelectMany(l => l.Migrations)
            .OrderBy(m => m.InProgress ? 0 : 1).ThenByDescending(m => m.FinishedAt ?? m.StartedAt)]);
    }

    private async Task<object> ListAll(IEnumerable<string> hosts)
    {
        var system = Context.System;
        var asks = hosts.Select(h => AskHost(system, h, ListLocalVms.Instance)).ToList();
        var lists = await Task.WhenAll(asks);
        return new VmList([.. lists.OfType<VmList>().SelectMany(l => l.Vms).OrderBy(v => v.VmId, StringComparer.Ordinal)]);
    }

    /// <summary>One host agent's answer; a host that does not answer in time (it failed) contributes none.</summary>
    private static async Task<object?> AskHost(ActorSystem system, string host, object question)
    {
        try
        {
            return await system.ActorSelection(HostPaths.Of(system, host, HostAgent.Path))
                .Ask<object>(question, TimeSpan.FromSeconds(3));
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }
}
