using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Cluster.Actors.Access;
using Cluster.Actors.Hosting;
using Cluster.Actors.Leases;
using Cluster.Actors.Networks;
using Cluster.Actors.Placement;
using Cluster.Actors.Runtime.Workers;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts.Validation;
using Cluster.Node.Access;
using Cluster.Serialization;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Networking;
using Cluster.Vmm.Worker;

namespace Cluster.Node.Hosting;

/// <summary>
/// The composition root of a node: the CPU backend, the layered configuration, the ActorSystem
/// "hypervisor" with Akka.Remote over mutual TLS (<see cref="NodeTls"/>) on 127.0.0.1 and the VM manager at
/// <see cref="VmManager.Path"/>.
/// </summary>
public sealed class NodeHost : IDisposable
{
    /// <summary>The ActorSystem name clients address.</summary>
    public const string SystemName = "hypervisor";

    private readonly IHypervisor _hypervisor;

    private readonly IDisposable? _workers;

    private NodeHost(IHypervisor hypervisor, ActorSystem system, IActorRef manager, IActorRef control, string backendReason, IDisposable? workers)
    {
        _hypervisor = hypervisor;
        _workers = workers;
        System = system;
        Manager = manager;
        Control = control;
        BackendReason = backendReason;
    }

    public ActorSystem System { get; }

    /// <summary>The control entry point (VM manager or cluster control), trusted: in-process callers only.</summary>
    public IActorRef Manager { get; }

    /// <summary>The access gate in front of <see cref="Manager"/>: what clients (vmctl, the HTTP API) send their <c>BearerCommand</c>s to.</summary>
    public IActorRef Control { get; }

    /// <summary>True when this start wrote a new bootstrap admin token to the data directory.</summary>
    public bool AdminTokenCreated { get; private init; }

    /// <summary>Which backend was chosen and why.</summary>
    public string BackendReason { get; }

    /// <summary>The node's remote address, for example akka.ssl.tcp://hypervisor@127.0.0.1:4053.</summary>
    public Address Address => ((ExtendedActorSystem)System).Provider.DefaultAddress;

    /// <summary>Opens the backend, loads the configuration and starts the ActorSystem and the VM manager.</summary>
    /// <exception cref="Cluster.Vmm.VmmException">the backend cannot be opened.</exception>
    /// <exception cref="Cluster.Serialization.Tls.RemoteTlsException">the node's TLS material is missing or not acceptable.</exception>
    public static NodeHost Start(NodeOptions options, string hoconDirectory)
    {
        var tls = NodeTls.Resolve(options);
        var overrides = ConfigurationFactory.ParseString(
            $"akka.remote.dot-netty.tcp.port = {options.Port}\nakka.remote.dot-netty.tcp.hostname = \"{options.Hostname}\"");
        if (options.ConfigFile is not null)
            overrides = overrides.WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(options.ConfigFile)));
        if (options.Cluster is { } cluster)
            overrides = ClusterComposition.Overrides(cluster).WithFallback(overrides);
        if (options.LogFormat is { } logFormat)
            overrides = Logs.NodeLogging.Format(logFormat).WithFallback(overrides);
        var config = Logs.NodeLogging.Apply(HypervisorConfig.Load(hoconDirectory, options.DataDirectory, overrides, options.Cluster is not null,
            options.Cluster?.Journal));
        var hypervisor = HypervisorFactory.Create(options.Backend, out var reason, WorkerSettings.EmulatorCodePagesOf(config));
        try
        {
            var admin = AdminTokenFile.Ensure(options.DataDirectory, out var created);
            var system = ActorSystem.Create(SystemName, HypervisorConfig.Setup(config, tls.Bootstrap(config)));
            var address = ((ExtendedActorSystem)system).Provider.DefaultAddress;
            var validator = new VmSpecValidator(Limits(config, hypervisor));
            var settings = VmActorSettings.From(config, $"{address.Host}:{address.Port}");
            var factory = Networked(system, Guests(system, config, hypervisor, options), address,
                WorkerSettings.UsesWorkers(config) ? WorkerSettings.From(config, options.DataDirectory, options.Cluster is not null).LaunchUser : null);
            var networks = NetworkComposition.Start(system, options.Cluster is not null);
            var manager = options.Cluster is null
                ? system.ActorOf(VmManager.Props(factory, validator, settings, networks), VmManager.Name)
                : ClusterComposition.Start(system, config, hypervisor, factory, validator, settings, networks);
            var control = AccessComposition.Start(system, manager, options.Cluster is not null, settings.Node, [admin],
                config.GetTimeSpan("cluster-hypervisor.access.refresh", AccessComposition.DefaultRefresh));
            return new NodeHost(hypervisor, system, manager, control, reason, factory as IDisposable) { AdminTokenCreated = created };
        }
        catch
        {
            hypervisor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Where guests run: each in its own VMM worker process (<c>cluster-hypervisor.vmm.isolation = process</c>, the default;
    /// workers run the backend this node chose), or inside the node (<c>in-process</c>).
    /// </summary>
    private static IGuestRuntimeFactory Guests(ActorSystem system, Config config, IHypervisor hypervisor, NodeOptions options)
    {
        var images = ImageSettings.From(config, options.DataDirectory);
        if (!WorkerSettings.UsesWorkers(config))
            return new MachineGuestRuntimeFactory(hypervisor, images);
        var lease = HostLeases.Get(system);
        var settings = WorkerSettings.From(config, options.DataDirectory, options.Cluster is not null) with
        {
            HostLease = lease.Store is null ? null : lease,
        };
        var log = Logging.GetLogger(system, "vmm-workers");
        var command = WorkerLauncher.WorkerCommand(out var workerNote);
        log.Info(workerNote);
        var factory = new WorkerGuestRuntimeFactory(hypervisor, settings, command, hypervisor.Kind,
            line => log.Info(line), images);
        log.Info("guests run in VMM worker processes ({0}; {1} left running by an earlier incarnation); {2}", settings.RuntimeDirectory,
            factory.LeftOver, factory.CgroupNote);
        return factory;
    }

    /// <summary>
    /// Guests with NICs: this node follows the network registry's journal (<see cref="NetworkFollower"/>) and sets up a
    /// network's host part and the NICs' taps before such a guest is created here (<see cref="HostNetworking"/>; dnsmasq's
    /// files under /run/cluster-hypervisor/PORT), with the other cluster members as an overlay's peers. The taps belong to
    /// <paramref name="tapUser"/> (the workers' user, which opens them by name), or root.
    /// </summary>
    private static IGuestRuntimeFactory Networked(ActorSystem system, IGuestRuntimeFactory guests, Address address, string? tapUser)
    {
        var view = new NetworkView();
        var board = PlacementBoard.Get(system);
        HostNetworking.NameTapsFor($"{address.Host}:{address.Port}");
        var host = new HostNetworking(new HostCommands(), Path.Combine("/run/cluster-hypervisor", $"{address.Port}"), address.Host!,
            () => [.. board.Hosts().Select(h => h.Host[..h.Host.LastIndexOf(':')]).Distinct(StringComparer.Ordinal)], view, tapUser: tapUser);
        system.ActorOf(NetworkFollower.Props(view, host, TimeSpan.FromSeconds(1)), NetworkFollower.Name);
        return new NetworkedGuestRuntimeFactory(guests, host);
    }

    /// <summary>The spec limits: the configured ones, narrowed to what the backend and the VMM layout allow.</summary>
    public static VmSpecLimits Limits(Config config, IHypervisor hypervisor) => Limits(config, new MachineGuestRuntimeFactory(hypervisor));

    /// <summary>The spec limits: the configured ones, narrowed to what the backend and the VMM layout allow.</summary>
    public static VmSpecLimits Limits(Config config, MachineGuestRuntimeFactory factory) => new(
        Math.Min(config.GetInt("cluster-hypervisor.limits.max-vcpus", factory.MaxVcpus), factory.MaxVcpus),
        Math.Max(ConfigSize.Get(config, "cluster-hypervisor.limits.min-memory") ?? 0, MachineGuestRuntimeFactory.MinMemoryBytes),
        Math.Min(ConfigSize.Get(config, "cluster-hypervisor.limits.max-memory") ?? long.MaxValue, MachineGuestRuntimeFactory.MaxMemoryBytes),
        factory.BuiltInImages);

    /// <summary>Runs the coordinated shutdown (VMs stop, the journal stays as it was) and releases the backend.</summary>
    public void Dispose()
    {
        CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance).Wait(TimeSpan.FromSeconds(15));
        _workers?.Dispose();
        _hypervisor.Dispose();
    }
}
