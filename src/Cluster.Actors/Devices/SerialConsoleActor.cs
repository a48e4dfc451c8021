using System.Buffers;
using System.Diagnostics;
using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Devices;

/// <summary>
/// The serial console of one VM, alive across guest restarts: keeps the last N bytes for tails and
/// attach backlogs, streams new bytes to subscribed actors (local or remote) as
/// <see cref="ConsoleOutput"/>, and hands typed input to the running guest's UART. Output is
/// rate-limited (what the bucket refuses is dropped, and a "[console: N bytes dropped]" line says so in the
/// stream and the backlog) and coalesced: subscribers get chunks of up to <see cref="ConsoleLimits.ChunkBytes"/>,
/// at most <see cref="ConsoleLimits.FlushInterval"/> late, rather than a message per line. The first output after a quiet spell
/// (nothing published for a flush interval) goes out at once, as the UART and the worker's outbox do: a guest's first byte
/// is not held back for a chunk that a burst would fill, and bursts stay coalesced.
/// </summary>
public sealed class SerialConsoleActor : ReceiveActor, IWithTimers
{
    private readonly string _vmId;
    private readonly ConsoleRing _ring;
    private readonly ConsoleLimits _limits;
    private readonly ConsoleRateLimiter _limiter;
    private readonly ArrayBufferWriter<byte> _pending;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HashSet<IActorRef> _subscribers = [];
    private GuestInputSink? _input;
    private bool _atLineStart = true;
    private TimeSpan _lastPublished;

    public SerialConsoleActor(string vmId, int bufferBytes, ConsoleLimits limits)
    {
        _vmId = vmId;
        _ring = new ConsoleRing(bufferBytes);
        _limits = limits;
        _limiter = new ConsoleRateLimiter(limits.BytesPerSecond, limits.BurstBytes, _clock.Elapsed);
        _pending = new ArrayBufferWriter<byte>(limits.ChunkBytes);
        _lastPublished = -limits.FlushInterval;
        Receive<SerialChunk>(chunk => Write(chunk.Data));
        Receive<FlushConsole>(_ => Publish());
        Receive<ConsoleTail>(tail => Sender.Tell(new ConsoleOutput(_vmId, _ring.Tail(tail.MaxBytes))));
        Receive<ConsoleAttach>(_ =>
        {
            // What is pending is in the backlog already: the subscribers that had it coming get it first.
            Publish();
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
            if (sink.Accepting)
                _input = sink;
            else if (Equals(_input?.Owner, sink.Owner))
                _input = null;
        });
        Receive<ConsoleInput>(input => _input?.Owner.Tell(input));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Bytes of guest output dropped by the rate limit so far.</summary>
    public long DroppedBytes => _limiter.DroppedBytes;

    public static Props Props(string vmId, int bufferBytes) => Props(vmId, bufferBytes, ConsoleLimits.Default);

    public static Props Props(string vmId, int bufferBytes, ConsoleLimits limits) =>
        Akka.Actor.Props.Create(() => new SerialConsoleActor(vmId, bufferBytes, limits));

    private void Write(byte[] data)
    {
        int kept = _limiter.Admit(data.Length, _clock.Elapsed);
        var span = data.AsSpan(0, kept);
        while (span.Length > 0)
        {
            int n = Math.Min(span.Length, _limits.ChunkBytes - _pending.WrittenCount);
            Append(span[..n]);
            span = span[n..];
            if (_pending.WrittenCount >= _limits.ChunkBytes)
                Publish();
        }
        if (_pending.WrittenCount > 0 && _clock.Elapsed - _lastPublished >= _limits.FlushInterval)
            Publish();
        else if (kept < data.Length || _pending.WrittenCount > 0)
            StartFlushTimer();
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
            return;
        _ring.Append(bytes);
        _pending.Write(bytes);
        _atLineStart = bytes[^1] == (byte)'\n';
    }

    private void StartFlushTimer()
    {
        if (!Timers.IsTimerActive(FlushConsole.Instance))
            Timers.StartSingleTimer(FlushConsole.Instance, FlushConsole.Instance, _limits.FlushInterval);
    }

    /// <summary>Sends what is pending, with the marker of any drops, to every subscriber.</summary>
    private void Publish()
    {
        Timers.Cancel(FlushConsole.Instance);
        if (_limiter.TakeMarker(_atLineStart) is { } marker)
            Append(marker);
        if (_pending.WrittenCount == 0)
            return;
        var output = new ConsoleOutput(_vmId, _pending.WrittenSpan.ToArray());
        _pending.Clear();
        _lastPublished = _clock.Elapsed;
        foreach (var subscriber in _subscribers)
            subscriber.Tell(output);
    }

    private sealed class FlushConsole
    {
        public static readonly FlushConsole Instance = new();
    }
}
