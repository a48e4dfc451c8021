using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Hosting;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts.Validation;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Hosting;

/// <summary>
/// The composition root of a node: the CPU backend, the layered configuration, the ActorSystem
/// "hypervisor" with Akka.Remote on 127.0.0.1 and the VM manager at <see cref="VmManager.Path"/>.
/// </summary>
public sealed class NodeHost : IDisposable
{
    /// <summary>The ActorSystem name clients address.</summary>
    public const string SystemName = "hypervisor";

    private readonly IHypervisor _hypervisor;

    private NodeHost(IHypervisor hypervisor, ActorSystem system, IActorRef manager, string backendReason)
    {
        _hypervisor = hypervisor;
        System = system;
        Manager = manager;
        BackendReason = backendReason;
    }

    public ActorSystem System { get; }

    public IActorRef Manager { get; }

    /// <summary>Which backend was chosen and why.</summary>
    public string BackendReason { get; }

    /// <summary>The node's remote address, for example akka.tcp://hypervisor@127.0.0.1:4053.</summary>
    public Address Address => ((ExtendedActorSystem)System).Provider.DefaultAddress;

    /// <summary>Opens the backend, loads the configuration and starts the ActorSystem and the VM manager.</summary>
    /// <exception cref="Cluster.Vmm.VmmException">the backend cannot be opened.</exception>
    public static NodeHost Start(NodeOptions options, string hoconDirectory)
    {
        var hypervisor = HypervisorFactory.Create(options.Backend, out var reason);
        try
        {
            var overrides = ConfigurationFactory.ParseString(
                $"akka.remote.dot-netty.tcp.port = {options.Port}\nakka.remote.dot-netty.tcp.hostname = \"{options.Hostname}\"");
            if (options.ConfigFile is not null)
                overrides = overrides.WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(options.ConfigFile)));
            if (options.Cluster is { } cluster)
                overrides = ClusterComposition.Overrides(cluster).WithFallback(overrides);
            var config = HypervisorConfig.Load(hoconDirectory, options.DataDirectory, overrides, options.Cluster is not null,
                options.Cluster?.Journal);
            var system = ActorSystem.Create(SystemName, config);
            var address = ((ExtendedActorSystem)system).Provider.DefaultAddress;
            var factory = new MachineGuestRuntimeFactory(hypervisor);
            var validator = new VmSpecValidator(Limits(config, factory));
            var settings = VmActorSettings.From(config, $"{address.Host}:{address.Port}");
            var manager = options.Cluster is null
                ? system.ActorOf(VmManager.Props(factory, validator, settings), VmManager.Name)
                : ClusterComposition.Start(system, config, hypervisor, factory, validator, settings);
            return new NodeHost(hypervisor, system, manager, reason);
        }
        catch
        {
            hypervisor.Dispose();
            throw;
        }
    }

    /// <summary>The spec limits: the configured ones, narrowed to what the backend and the VMM layout allow.</summary>
    public static VmSpecLimits Limits(Config config, MachineGuestRuntimeFactory factory) => new(
        Math.Min(config.GetInt("cluster-hypervisor.limits.max-vcpus", factory.MaxVcpus), factory.MaxVcpus),
        Math.Max((ulong)(config.GetByteSize("cluster-hypervisor.limits.min-memory", null) ?? 0), MachineGuestRuntimeFactory.MinMemoryBytes),
        Math.Min((ulong)(config.GetByteSize("cluster-hypervisor.limits.max-memory", null) ?? long.MaxValue), MachineGuestRuntimeFactory.MaxMemoryBytes),
        factory.BuiltInImages);

    /// <summary>Runs the coordinated shutdown (VMs stop, the journal stays as it was) and releases the backend.</summary>
    public void Dispose()
    {
        CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance).Wait(TimeSpan.FromSeconds(15));
        _hypervisor.Dispose();
    }
}
