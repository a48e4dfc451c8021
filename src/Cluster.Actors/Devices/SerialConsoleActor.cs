using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Devices;

/// <summary>
/// The serial console of one VM, alive across guest restarts: keeps the last N bytes for tails and
/// attach backlogs, streams new bytes to subscribed actors (local or remote) as
/// <see cref="ConsoleOutput"/>, and hands typed input to the running guest's UART.
/// </summary>
public sealed class SerialConsoleActor : ReceiveActor
{
    private readonly string _vmId;
    private readonly ConsoleRing _ring;
    private readonly HashSet<IActorRef> _subscribers = [];
    private GuestInputSink? _input;

    public SerialConsoleActor(string vmId, int bufferBytes)
    {
        _vmId = vmId;
        _ring = new ConsoleRing(bufferBytes);
        Receive<SerialChunk>(chunk =>
        {
            _ring.Append(chunk.Data);
            var output = new ConsoleOutput(_vmId, chunk.Data);
            foreach (var subscriber in _subscribers)
                subscriber.Tell(output);
        });
        Receive<ConsoleTail>(tail => Sender.Tell(new ConsoleOutput(_vmId, _ring.Tail(tail.MaxBytes))));
        Receive<ConsoleAttach>(_ =>
        {
            if (_subscribers.Add(Sender))
                Context.Watch(Sender);
            Sender.Tell(new ConsoleOutput(_vmId, _ring.Tail(_ring.Capacity)));
        });
        Receive<ConsoleDetach>(_ =>
        {
            if (_subscribers.Remove(Sender))
                Context.Unwatch(Sender);
            Sender.Tell(new ConsoleDetached(_vmId));
        });
        Receive<Terminated>(t => _subscribers.Remove(t.ActorRef));
        Receive<GuestInputSink>(sink =>
        {
            if (sink.Write is not null)
                _input = sink;
            else if (Equals(_input?.Owner, sink.Owner))
                _input = null;
        });
        Receive<ConsoleInput>(input => _input?.Write?.Invoke(input.Data));
    }

    public static Props Props(string vmId, int bufferBytes) =>
        Akka.Actor.Props.Create(() => new SerialConsoleActor(vmId, bufferBytes));
}
