using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using Cluster.Contracts.Access;
using Cluster.Serialization;
using Cluster.Serialization.Tls;

namespace Cluster.Vmctl.Client;

/// <summary>
/// A short-lived client ActorSystem (Akka.Remote over mutual TLS with a client certificate of the cluster CA, see
/// <see cref="ClientTls"/>, on an ephemeral loopback port; the contracts' MessagePack serializer from hocon/base.conf). A standalone node's VM manager is reached by
/// ActorSelection; a cluster node (one that runs a ClusterClientReceptionist) through a ClusterClient,
/// which sends every message to the access gate of a node of the cluster. Every command travels in a
/// <see cref="BearerCommand"/> with the client's token.
/// </summary>
public sealed class NodeClient : IControlClient, IAsyncDisposable
{
    /// <summary>Where the node's access gate listens (the receptionist's service path on a cluster node).</summary>
    private const string ControlPath = "/user/control";
    private readonly IActorRef _manager;
    private readonly IActorRef? _clusterClient;
    private readonly string _token;

    private NodeClient(ActorSystem system, IActorRef manager, IActorRef? clusterClient, TimeSpan timeout, string token)
    {
        System = system;
        _manager = manager;
        _clusterClient = clusterClient;
        Timeout = timeout;
        _token = token;
    }

    /// <summary>True when the node is a cluster member and messages go through a ClusterClient.</summary>
    public bool IsCluster => _clusterClient is not null;

    public ActorSystem System { get; }

    /// <summary>How long to wait for any one answer.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Starts the client with the identity <see cref="ClientTls"/> finds and finds the node's access gate at <paramref name="node"/> (HOST:PORT); <paramref name="token"/> goes with every command.</summary>
    /// <exception cref="NodeUnreachableException">no answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="RemoteTlsException">no usable client certificate.</exception>
    public static Task<NodeClient> ConnectAsync(string node, TimeSpan timeout, string token) => ConnectAsync(node, timeout, token, ClientTls.Load());

    /// <summary>Starts the client with identity <paramref name="tls"/> and finds the node's access gate at <paramref name="node"/> (HOST:PORT); <paramref name="token"/> goes with every command.</summary>
    /// <exception cref="NodeUnreachableException">no answer within <paramref name="timeout"/>.</exception>
    public static async Task<NodeClient> ConnectAsync(string node, TimeSpan timeout, string token, RemoteTls tls)
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
        var system = ActorSystem.Create("vmctl", tls.Bootstrap(config));
        try
        {
            var manager = await system.ActorSelection($"{RemoteTls.Protocol}://hypervisor@{node}{ControlPath}").ResolveOne(timeout);
            IActorRef? clusterClient = null;
            try
            {
                var receptionist = $"{RemoteTls.Protocol}://hypervisor@{node}/system/receptionist";
                await system.ActorSelection(receptionist).ResolveOne(timeout);
                clusterClient = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system)
                    .WithInitialContacts([ActorPath.Parse(receptionist)])), "cluster-client");
            }
            catch (ActorNotFoundException)
            {
                // A standalone node: no receptionist, so the manager is addressed directly.
            }
            return new NodeClient(system, manager, clusterClient, timeout, token);
        }
        catch (Exception e) when (e is ActorNotFoundException or TimeoutException or TaskCanceledException)
        {
            await system.Terminate();
            throw new NodeUnreachableException($"node {node} is unreachable: no answer within {timeout.TotalSeconds:0.#} s (is 'cluster-node run --port {node.Split(':')[^1]}' running, and is {tls.Certificate.Subject} from its cluster CA?)", e);
        }
    }

    /// <summary>Sends <paramref name="message"/> and waits for the one reply.</summary>
    /// <exception cref="NodeUnreachableException">no reply within <see cref="Timeout"/>.</exception>
    public async Task<object> AskAsync(object message)
    {
        var sealedMessage = BearerCommands.Wrap(_token, message);
        try
        {
            var reply = _clusterClient is null
                ? await _manager.Ask<object>(sealedMessage, Timeout)
                : await _clusterClient.Ask<object>(new ClusterClient.Send(ControlPath, sealedMessage, localAffinity: true), Timeout);
            return reply is Status.Failure failure ? new ClusterFailure(failure.Cause?.Message ?? "failed") : reply;
        }
        catch (AskTimeoutException e)
        {
            throw new NodeUnreachableException($"the node did not answer {message.GetType().Name} within {Timeout.TotalSeconds:0.#} s", e);
        }
    }

    /// <summary>Sends <paramref name="message"/> with <paramref name="sender"/> as its sender (for subscriptions).</summary>
    public void Tell(object message, IActorRef sender)
    {
        var sealedMessage = BearerCommands.Wrap(_token, message);
        if (_clusterClient is null)
            _manager.Tell(sealedMessage, sender);
        else
            _clusterClient.Tell(new ClusterClient.Send(ControlPath, sealedMessage, localAffinity: true), sender);
    }

    /// <summary>
    /// Stops the client ActorSystem, waiting at most 5 s: Akka.Remote's shutdown can wait longer on a node that stopped
    /// answering (a partition), and the command's outcome is already printed; the process exits either way.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await System.Terminate().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // The answer is in; a slow shutdown of the client's own ActorSystem is no failure of the command.
        }
    }
}
