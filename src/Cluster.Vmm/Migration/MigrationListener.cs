using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The target's accept loop for one incoming migration: accepts every connection on the listener, authenticates
/// each on its own (<see cref="MigrationChannel.AcceptAsync"/>, bounded by a handshake timeout) and hands out only
/// those that proved themselves, in the order they did. A stranger (plain TCP, TLS without or with a wrong token, a
/// peer that stalls) is dropped and counted without delaying the real source, whose connections keep being
/// accepted beside it until the migration ends.
/// </summary>
public sealed class MigrationListener : IDisposable
{
    /// <summary>The most connections authenticating at once; more are dropped at once (a flood cannot grow without bound).</summary>
    public const int MaxPending = 256;

    private readonly TcpListener _listener;
    private readonly MigrationIdentity _identity;
    private readonly SslStreamCertificateContext? _context;
    private readonly TimeSpan _handshakeTimeout;
    private readonly TimeSpan _ioTimeout;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<FrameStream> _accepted = Channel.CreateUnbounded<FrameStream>();
    private readonly List<string> _rejections = [];
    private readonly Task _loop;
    private int _pending;
    private int _rejected;

    /// <summary>Starts accepting on <paramref name="listener"/> (started by the caller, who stops it).</summary>
    public MigrationListener(TcpListener listener, MigrationIdentity identity, TimeSpan handshakeTimeout, TimeSpan ioTimeout)
    {
        _listener = listener ?? throw new ArgumentNullException(nameof(listener));
        _identity = identity ?? throw new ArgumentNullException(nameof(identity));
        _context = MigrationChannel.ServerContext(identity);
        _handshakeTimeout = handshakeTimeout;
        _ioTimeout = ioTimeout;
        _loop = Task.Run(AcceptLoop);
    }

    /// <summary>Connections dropped because they did not authenticate.</summary>
    public int Rejected => Volatile.Read(ref _rejected);

    /// <summary>Why the last few connections were dropped (for the failure reason of a migration that never came).</summary>
    public IReadOnlyList<string> Rejections { get { lock (_rejections) return [.. _rejections]; } }

    /// <summary>The next authenticated connection; waits at most <paramref name="timeout"/> (infinite when null).</summary>
    /// <exception cref="VmmException">none came in time, or the listener failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public FrameStream Next(TimeSpan? timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } t) cts.CancelAfter(t);
        try
        {
            return _accepted.Reader.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            string dropped = Rejected == 0 ? "" : $"; {Rejected} connection(s) dropped, last: {Rejections.LastOrDefault()}";
            throw new VmmException($"no authenticated migration connection within {timeout?.TotalSeconds:0.#} s{dropped}", "migration-io");
        }
        catch (ChannelClosedException e)
        {
            throw new VmmException($"the migration listener stopped: {e.InnerException?.Message ?? "closed"}", "migration-io", inner: e);
        }
    }

    /// <summary>Stops accepting; connections authenticated but not taken are closed.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var left)) left.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
                if (Interlocked.Increment(ref _pending) > MaxPending)
                {
                    Interlocked.Decrement(ref _pending);
                    Reject(socket, $"more than {MaxPending} connections authenticating at once");
                    continue;
                }
                _ = Authenticate(socket);
            }
            _accepted.Writer.TryComplete();
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            _accepted.Writer.TryComplete(_stop.IsCancellationRequested ? null : e);
        }
    }

    private async Task Authenticate(Socket socket)
    {
        FrameStream? stream = null;
        try
        {
            stream = new FrameStream(socket, _ioTimeout);
            await stream.AcceptAsync(_identity, _context, _handshakeTimeout, _stop.Token).ConfigureAwait(false);
            if (!_accepted.Writer.TryWrite(stream)) stream.Dispose();
        }
        catch (Exception e)
        {
            string why = e switch
            {
                OperationCanceledException when !_stop.IsCancellationRequested => $"no TLS handshake and token within {_handshakeTimeout.TotalSeconds:0.#} s",
                OperationCanceledException => "the migration ended",
                _ => e.Message,
            };
            if (stream is not null) stream.Dispose();
            Reject(socket, why);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    private void Reject(Socket socket, string why)
    {
        string peer;
        try { peer = socket.RemoteEndPoint?.ToString() ?? "?"; }
        catch (ObjectDisposedException) { peer = "?"; }
        socket.Dispose();
        Interlocked.Increment(ref _rejected);
        lock (_rejections)
        {
            _rejections.Add($"{peer}: {why}");
            if (_rejections.Count > 8) _rejections.RemoveAt(0);
        }
    }
}
