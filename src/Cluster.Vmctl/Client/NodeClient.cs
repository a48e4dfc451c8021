using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;

namespace Cluster.Vmctl.Client;

/// <summary>
/// A short-lived client ActorSystem (Akka.Remote on an ephemeral loopback port, the contracts'
/// MessagePack serializer from hocon/base.conf). A standalone node's VM manager is reached by
/// ActorSelection; a cluster node (one that runs a ClusterClientReceptionist) through a ClusterClient,
/// which sends every message to the control entry point of a node of the cluster.
/// </summary>
public sealed class NodeClient : IControlClient, IAsyncDisposable
{
    private const string ControlPath = "/user/vms";
    private readonly IActorRef _manager;
    private readonly IActorRef? _clusterClient;

    private NodeClient(ActorSystem system, IActorRef manager, IActorRef? clusterClient, TimeSpan timeout)
    {
        System = system;
        _manager = manager;
        _clusterClient = clusterClient;
        Timeout = timeout;
    }

    /// <summary>True when the node is a cluster member and messages go through a ClusterClient.</summary>
    public bool IsCluster => _clusterClient is not null;

    public ActorSystem System { get; }

    /// <summary>How long to wait for any one answer.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Starts the client and finds the node's manager at <paramref name="node"/> (HOST:PORT).</summary>
    /// <exception cref="NodeUnreachableException">no answer within <paramref name="timeout"/>.</exception>
    public static async Task<NodeClient> ConnectAsync(string node, TimeSpan timeout)
    {
        var baseConf = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"));
        var config = ConfigurationFactory.ParseString(
                """
                akka.loglevel = OFF
                akka.stdout-loglevel = OFF
                akka.log-dead-letters = off
                akka.actor.provider = remote
                akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
                akka.remote.dot-netty.tcp.port = 0
                akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                akka.remote.dot-netty.tcp.batching.enabled = false
                """)
            .WithFallback(ConfigurationFactory.ParseString(baseConf))
            .WithFallback(ClusterClientReceptionist.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
        var system = ActorSystem.Create("vmctl", config);
        try
        {
            var manager = await system.ActorSelection($"akka.tcp://hypervisor@{node}{ControlPath}").ResolveOne(timeout);
            IActorRef? clusterClient = null;
            try
            {
                var receptionist = $"akka.tcp://hypervisor@{node}/system/receptionist";
                await system.ActorSelection(receptionist).ResolveOne(timeout);
                clusterClient = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system)
                    .WithInitialContacts([ActorPath.Parse(receptionist)])), "cluster-client");
            }
            catch (ActorNotFoundException)
            {
                // A standalone node: no receptionist, so the manager is addressed directly.
            }
            return new NodeClient(system, manager, clusterClient, timeout);
        }
        catch (Exception e) when (e is ActorNotFoundException or TimeoutException or TaskCanceledException)
        {
            await system.Terminate();
            throw new NodeUnreachableException($"node {node} is unreachable: no answer within {timeout.TotalSeconds:0.#} s (is 'cluster-node run --port {node.Split(':')[^1]}' running?)", e);
        }
    }

    /// <summary>Sends <paramref name="message"/> and waits for the one reply.</summary>
    /// <exception cref="NodeUnreachableException">no reply within <see cref="Timeout"/>.</exception>
    public async Task<object> AskAsync(object message)
    {
        try
        {
            return _clusterClient is null
                ? await _manager.Ask<object>(message, Timeout)
                : await _clusterClient.Ask<object>(new ClusterClient.Send(ControlPath, message, localAffinity: true), Timeout);
        }
        catch (AskTimeoutException e)
        {
            throw new NodeUnreachableException($"the node did not answer {message.GetType().Name} within {Timeout.TotalSeconds:0.#} s", e);
        }
    }

    /// <summary>Sends <paramref name="message"/> with <paramref name="sender"/> as its sender (for subscriptions).</summary>
    public void Tell(object message, IActorRef sender)
    {
        if (_clusterClient is null)
            _manager.Tell(message, sender);
        else
            _clusterClient.Tell(new ClusterClient.Send(ControlPath, message, localAffinity: true), sender);
    }

    public async ValueTask DisposeAsync() => await System.Terminate().WaitAsync(TimeSpan.FromSeconds(5));
}
