using System.Net.WebSockets;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Serialization;

namespace Cluster.Node.Http;

/// <summary>
/// One console WebSocket's end in the actor system (<see cref="ConsoleEndpoint"/>): attaches itself to the VM's console
/// through the access gate with the socket's token, as <c>vmctl console --follow</c> does, puts every
/// <see cref="ConsoleOutput"/> into the socket's bounded outbox (a full outbox drops the chunk and counts it: a slow
/// socket never makes the node buffer without bound), types what the socket receives as <see cref="ConsoleInput"/>
/// (the gate checks the role for each), and ends the socket with the reason of any refusal. Stopped by
/// <see cref="Hangup"/> (it detaches first) or by a refusal; it completes the outbox and <c>ended</c> when it stops.
/// </summary>
public sealed class ConsoleBridge : ReceiveActor
{
    private static readonly TimeSpan FirstReplyTimeout = TimeSpan.FromSeconds(15);
    private readonly ChannelWriter<byte[]> _outbox;
    private readonly TaskCompletionSource<ConsoleEnd> _ended;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _dropped;

    public ConsoleBridge(IActorRef gate, string token, string vmId, ChannelWriter<byte[]> outbox, TaskCompletionSource<ConsoleEnd> ended)
    {
        _outbox = outbox;
        _ended = ended;
        Receive<ConsoleOutput>(o =>
        {
            Context.SetReceiveTimeout(null);
            if (!_outbox.TryWrite(o.Data))
                _dropped += o.Data.Length;
        });
        Receive<Typed>(t => gate.Tell(BearerCommands.Wrap(token, new ConsoleInput(vmId, t.Data))));
        Receive<VmCommandAccepted>(_ => { });
        Receive<ConsoleDetached>(_ => { });
        Receive<AccessDenied>(d => End(WebSocketCloseStatus.PolicyViolation, $"access denied ({d.Reason.ToString().ToLowerInvariant()}): {d.Message}"));
        Receive<VmNotFound>(n => End(WebSocketCloseStatus.NormalClosure, $"no VM '{n.VmId}'"));
        Receive<NotAllowed>(n => End(WebSocketCloseStatus.NormalClosure, n.Reason));
        Receive<Status.Failure>(f => End(WebSocketCloseStatus.InternalServerError, f.Cause.Message));
        Receive<ReceiveTimeout>(_ => End(WebSocketCloseStatus.EndpointUnavailable, $"the cluster did not answer within {FirstReplyTimeout.TotalSeconds} s"));
        Receive<Hangup>(_ =>
        {
            gate.Tell(BearerCommands.Wrap(token, new ConsoleDetach(vmId)));
            End(WebSocketCloseStatus.NormalClosure, "detached");
        });
        ReceiveAny(m => _log.Warning("console of {0}: unexpected {1}", vmId, m.GetType().Name));
        gate.Tell(BearerCommands.Wrap(token, new ConsoleAttach(vmId)));
        Context.SetReceiveTimeout(FirstReplyTimeout);
    }

    public static Props Props(IActorRef gate, string token, string vmId, ChannelWriter<byte[]> outbox, TaskCompletionSource<ConsoleEnd> ended) =>
        Akka.Actor.Props.Create(() => new ConsoleBridge(gate, token, vmId, outbox, ended));

    /// <summary>Bytes the socket received, to type into the guest.</summary>
    public sealed record Typed(byte[] Data);

    /// <summary>The socket has closed: detach and stop.</summary>
    public sealed class Hangup
    {
        public static readonly Hangup Instance = new();

        private Hangup()
        {
        }
    }

    /// <summary>How the socket ends: the close status and its reason text.</summary>
    public sealed record ConsoleEnd(WebSocketCloseStatus Status, string Reason);

    private void End(WebSocketCloseStatus status, string reason)
    {
        _ended.TrySetResult(new ConsoleEnd(status, reason));
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        if (_dropped > 0)
            _log.Warning("console: {0} bytes dropped for a slow socket", _dropped);
        _ended.TrySetResult(new ConsoleEnd(WebSocketCloseStatus.NormalClosure, "detached"));
        _outbox.TryComplete();
    }
}
