using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Cluster.Actors.Clustering;
using Cluster.Actors.Leases;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts.Validation;
using Cluster.Serialization.Tls;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Hosting;

/// <summary>
/// Wires a cluster node: host agent, host directory and minority guard, the "vm" shard region with the
/// resource-aware allocation strategy (a proxy on control-only nodes), the migration receiver and the
/// listener of migrated VMs, the scheduler and rebalancer singletons and the control entry point registered with the
/// ClusterClientReceptionist.
/// </summary>
public static class ClusterComposition
{
    /// <summary>HOCON for the cluster options: seeds, roles, capacity, labels, run log, rebalancer mode.</summary>
    public static Config Overrides(ClusterOptions options)
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var seeds = string.Join(", ", options.Seeds.Select(s => Quote($"{RemoteTls.Protocol}://{NodeHost.SystemName}@{s}")));
        var labels = string.Join("\n", options.Labels.Select(l => $"cluster-hypervisor.host.labels.{Quote(l.Key)} = {Quote(l.Value)}"));
        return ConfigurationFactory.ParseString(
            $"""
            akka.cluster.seed-nodes = [{seeds}]
            akka.cluster.roles = [{string.Join(", ", options.Roles.Select(Quote))}]
            cluster-hypervisor.host.vcpus = {options.Vcpus}
            cluster-hypervisor.host.memory = {options.MemoryBytes}
            cluster-hypervisor.run-log = {Quote(options.RunLog ?? "")}
            {(options.Rebalance is null ? "" : $"cluster-hypervisor.rebalancer.mode = {options.Rebalance}")}
            {labels}
            """);
    }

    /// <summary>
    /// Starts the cluster actors, the rebalancer singleton included (the control entry forwards drain, mode and
    /// status requests to it); returns the control entry point (clients reach it through the access gate, which the
    /// receptionist serves).
    /// </summary>
    public static IActorRef Start(ActorSystem system, Config config, IHypervisor hypervisor, IGuestRuntimeFactory factory,
        VmSpecValidator validator, VmActorSettings settings, IActorRef networks)
    {
        var placement = PlacementSettings.From(config);
        var migration = MigrationSettings.From(config);
        var isHost = config.GetStringList("akka.cluster.roles").Contains("host");
        var sharding = ClusterSharding.Get(system);
        var extractor = new VmMessageExtractor();
        system.ActorOf(ClusterSingletonManager.Props(Scheduler.Props(placement), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole("host").WithSingletonName(Scheduler.Name)), $"{Scheduler.Name}-singleton");
        var scheduler = system.ActorOf(ClusterSingletonProxy.Props($"/user/{Scheduler.Name}-singleton",
            ClusterSingletonProxySettings.Create(system).WithRole("host").WithSingletonName(Scheduler.Name)), $"{Scheduler.Name}-proxy");
        system.ActorOf(MoveListener.Props(), MoveListener.Name);
        IActorRef region;
        if (isHost)
        {
            var agent = system.ActorOf(HostAgent.Props(settings.Node, HostCapacity.From(config, hypervisor.CpuModel),
                config.GetTimeSpan("cluster-hypervisor.host.refresh", TimeSpan.FromSeconds(1)), migration.KeepFinished,
                cgroupCpu: config.GetString("cluster-hypervisor.host.cpu-load", "cgroup") != "vcpu",
                loadWindow: config.GetTimeSpan("cluster-hypervisor.host.load-window", HostAgent.DefaultLoadWindow)), HostAgent.Name);
            if (HostLeases.Get(system).Store is not null)
                system.ActorOf(HostLeaseKeeper.Props(settings.Node, Akka.Cluster.Cluster.Get(system).SelfUniqueAddress.Uid), HostLeaseKeeper.Name);
            system.ActorOf(MinorityGuard.Props(agent, config.GetTimeSpan("cluster-hypervisor.fencing.pause-after", TimeSpan.FromSeconds(1))),
                MinorityGuard.Name);
            var runLog = config.GetString("cluster-hypervisor.run-log", "") is { Length: > 0 } path ? new RunLog(path) : null;
            system.ActorOf(MigrationReceiver.Props(factory, settings.Node, agent, runLog, placement, migration), MigrationReceiver.Name);
            var hosting = new VmHosting(agent, runLog, config.GetTimeSpan("cluster-hypervisor.fencing.check-interval", TimeSpan.FromSeconds(1)),
                scheduler, migration);
            region = sharding.Start(VmMessageExtractor.TypeName, id => VmActor.Props(id, factory, settings, hosting),
                ClusterShardingSettings.Create(system).WithRole("host"), extractor,
                new ResourceAwareAllocationStrategy(placement), MigrationHandOff.Instance);
        }
        else
        {
            region = sharding.StartProxy(VmMessageExtractor.TypeName, "host", extractor);
        }
        system.ActorOf(HostDirectory.Props(), HostDirectory.Name);
        var rebalancer = RebalancerComposition.Start(system, config, region);
        return system.ActorOf(ClusterControl.Props(region, scheduler, validator, networks, rebalancer), ClusterControl.Name);
    }
}
