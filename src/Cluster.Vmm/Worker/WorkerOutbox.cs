using System.Net.Sockets;

namespace Cluster.Vmm.Worker;

/// <summary>
/// Sends a worker's events to its current client on one thread of its own, so that no vCPU thread ever
/// waits on a socket. Serial output is not queued: the guest's bytes go to the <see cref="ConsoleHistory"/>
/// and the sender sends what the client has not had yet, coalesced over <see cref="CoalescePeriod"/> into
/// frames of up to 64 KiB (output after a quiet spell of at least that long goes out at once: a first byte waits for nothing); a client further behind than the history loses the oldest bytes (the offsets
/// show the gap). Other events are queued in order, each after the serial output written before it.
/// With no client, events are dropped (a re-attaching client reads the state with Info).
/// </summary>
internal sealed class WorkerOutbox : IDisposable
{
    /// <summary>How long the sender waits after the first byte of a burst before sending it.</summary>
    public static readonly TimeSpan CoalescePeriod = TimeSpan.FromMilliseconds(4);

    private const int MaxSerialFrame = 64 << 10;

    private readonly ConsoleHistory _console;
    private readonly object _gate = new();
    private readonly Queue<(WorkerMessageType Type, byte[] Payload)> _events = new();
    private readonly Thread _thread;
    private WorkerChannel? _channel;
    private long _sentOffset;
    private bool _serialPending;
    private long _lastSerialSend;
    private bool _stopping;

    /// <summary>An outbox for the output recorded in <paramref name="console"/>.</summary>
    public WorkerOutbox(ConsoleHistory console)
    {
        _console = console;
        _thread = new Thread(Run) { Name = "worker-outbox", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Sends to <paramref name="channel"/> from now on; its serial stream starts at the current end of
    /// the history (the client reads what came before with Info).</summary>
    public void Attach(WorkerChannel channel)
    {
        lock (_gate)
        {
            _channel = channel;
            _sentOffset = _console.End;
            _events.Clear();
        }
    }

    /// <summary>Stops sending to <paramref name="channel"/> if it is the current one.</summary>
    public void Detach(WorkerChannel channel)
    {
        lock (_gate)
            if (_channel == channel) _channel = null;
    }

    /// <summary>The client sends go to, if any.</summary>
    public WorkerChannel? Channel { get { lock (_gate) return _channel; } }

    /// <summary>New serial output is in the history (called on vCPU threads: never blocks on I/O).</summary>
    public void SerialWritten()
    {
        lock (_gate)
        {
            if (_serialPending) return;
            _serialPending = true;
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Queues an event for the current client.</summary>
    public void Post(WorkerMessageType type, byte[] payload)
    {
        lock (_gate)
        {
            if (_channel is null) return;
            _events.Enqueue((type, payload));
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Sends what is pending, then stops the sender.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }
        _thread.Join(TimeSpan.FromSeconds(2));
    }

    private void Run()
    {
        while (true)
        {
            bool serial;
            lock (_gate)
            {
                while (!_serialPending && _events.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_stopping && !_serialPending && _events.Count == 0) return;
                serial = _serialPending && _events.Count == 0 && !_stopping;
            }
            // Output after a quiet spell goes out at once; output soon after a send waits for the rest of its burst.
            if (serial && System.Diagnostics.Stopwatch.GetElapsedTime(_lastSerialSend) < CoalescePeriod) Thread.Sleep(CoalescePeriod);
            SendSerial();
            SendEvents();
        }
    }

    private void SendSerial()
    {
        WorkerChannel? channel;
        long from;
        lock (_gate)
        {
            _serialPending = false;
            channel = _channel;
            from = _sentOffset;
        }
        if (channel is null) return;
        while (true)
        {
            var (offset, bytes) = _console.Read(from, MaxSerialFrame);
            if (bytes.Length == 0) return;
            var payload = new byte[8 + bytes.Length];
            BitConverter.TryWriteBytes(payload, offset);
            bytes.CopyTo(payload, 8);
            if (!Send(channel, WorkerMessageType.SerialOutput, payload)) return;
            _lastSerialSend = System.Diagnostics.Stopwatch.GetTimestamp();
            from = offset + bytes.Length;
            lock (_gate)
            {
                if (_channel != channel) return;
                _sentOffset = from;
            }
        }
    }

    private void SendEvents()
    {
        while (true)
        {
            WorkerChannel? channel;
            (WorkerMessageType Type, byte[] Payload) next;
            lock (_gate)
            {
                channel = _channel;
                if (channel is null || !_events.TryDequeue(out next)) return;
            }
            if (!Send(channel, next.Type, next.Payload)) return;
        }
    }

    /// <summary>Sends a frame; on failure (the client is gone or too slow) closes the channel, which ends its reader.</summary>
    private bool Send(WorkerChannel channel, WorkerMessageType type, byte[] payload)
    {
        try
        {
            channel.Write(type, 0, payload);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            Detach(channel);
            channel.Dispose();
            return false;
        }
    }
}
