using Akka.Actor;
using Akka.Configuration;

namespace Cluster.Vmctl.Client;

/// <summary>
/// A short-lived client ActorSystem (Akka.Remote on an ephemeral loopback port, the contracts'
/// MessagePack serializer from hocon/base.conf) that talks to one node's VM manager by ActorSelection.
/// </summary>
public sealed class NodeClient : IAsyncDisposable
{
    private readonly IActorRef _manager;

    private NodeClient(ActorSystem system, IActorRef manager, TimeSpan timeout)
    {
        System = system;
        _manager = manager;
        Timeout = timeout;
    }

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
            .WithFallback(ConfigurationFactory.ParseString(baseConf));
        var system = ActorSystem.Create("vmctl", config);
        try
        {
            var selection = system.ActorSelection($"akka.tcp://hypervisor@{node}/user/vms");
            var manager = await selection.ResolveOne(timeout);
            return new NodeClient(system, manager, timeout);
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
            return await _manager.Ask<object>(message, Timeout);
        }
        catch (AskTimeoutException e)
        {
            throw new NodeUnreachableException($"the node did not answer {message.GetType().Name} within {Timeout.TotalSeconds:0.#} s", e);
        }
    }

    /// <summary>Sends <paramref name="message"/> with <paramref name="sender"/> as its sender (for subscriptions).</summary>
    public void Tell(object message, IActorRef sender) => _manager.Tell(message, sender);

    public async ValueTask DisposeAsync() => await System.Terminate().WaitAsync(TimeSpan.FromSeconds(5));
}
