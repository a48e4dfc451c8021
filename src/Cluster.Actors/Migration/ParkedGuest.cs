using Cluster.Actors.Runtime;

namespace Cluster.Actors.Migration;

/// <summary>
/// A guest that arrived by live migration and runs on this host before its VM actor exists here: its serial
/// output is kept (the last <see cref="BufferBytes"/> bytes) and its exit remembered until the adopting
/// vCPU supervisor <see cref="Attach"/>es, so the console stays continuous. Thread-safe (VMM threads raise the events).
/// </summary>
public sealed class ParkedGuest
{
    /// <summary>Serial bytes kept while nobody is attached.</summary>
    public const int BufferBytes = 64 * 1024;

    private readonly Lock _gate = new();
    private readonly List<byte[]> _buffered = [];
    private int _bufferedBytes;
    private GuestExit? _exit;
    private Action<byte[]>? _output;
    private Action<GuestExit>? _exited;

    /// <summary>Parks <paramref name="guest"/>, which may already run.</summary>
    public ParkedGuest(IGuestRuntime guest)
    {
        Guest = guest;
        guest.SerialOutput += OnOutput;
        guest.Exited += OnExited;
    }

    /// <summary>The running guest.</summary>
    public IGuestRuntime Guest { get; }

    /// <summary>Delivers the buffered output (then every new chunk) to <paramref name="output"/> and the exit, when it comes or came, to <paramref name="exited"/>.</summary>
    public void Attach(Action<byte[]> output, Action<GuestExit> exited)
    {
        lock (_gate)
        {
            foreach (var chunk in _buffered)
                output(chunk);
            _buffered.Clear();
            _bufferedBytes = 0;
            _output = output;
            _exited = exited;
            if (_exit is not null)
                exited(_exit);
        }
    }

    private void OnOutput(byte[] bytes)
    {
        lock (_gate)
        {
            if (_output is not null)
            {
                _output(bytes);
                return;
            }
            _buffered.Add(bytes);
            _bufferedBytes += bytes.Length;
            while (_bufferedBytes > BufferBytes && _buffered.Count > 1)
            {
                _bufferedBytes -= _buffered[0].Length;
                _buffered.RemoveAt(0);
            }
        }
    }

    private void OnExited(GuestExit exit)
    {
        lock (_gate)
        {
            _exit ??= exit;
            _exited?.Invoke(exit);
        }
    }
}
