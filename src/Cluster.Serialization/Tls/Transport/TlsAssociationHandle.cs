using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Akka.Remote.Transport;
using Google.Protobuf;

namespace Cluster.Serialization.Tls.Transport;

/// <summary>
/// One authenticated TLS connection of <see cref="TlsTransport"/>: Akka's PDUs as frames of a 4-byte little-endian length and
/// the payload (the framing of Akka.Remote's DotNetty transport, so either transport can be the peer). Writes are queued
/// and a writer loop sends them in batches (one TLS write per batch, flushed when the queue is empty); a reader loop hands
/// each frame to the listener that the protocol layer registers. The end of the connection, however it comes, is reported
/// once as <see cref="Disassociated"/>.
/// </summary>
internal sealed class TlsAssociationHandle : AssociationHandle
{
    /// <summary>Queued bytes beyond which <see cref="Write"/> refuses (Akka's endpoint writer then buffers and backs off).</summary>
    internal const long HighWaterBytes = 16 << 20;

    private const int BatchBytes = 64 << 10;

    private readonly Socket _socket;
    private readonly SslStream _stream;
    private readonly long _maxFrame;
    private readonly ILoggingAdapter _log;
    private readonly Action<TlsAssociationHandle> _ended;
    private readonly Channel<ByteString> _outbox = Channel.CreateUnbounded<ByteString>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private long _queuedBytes;
    private int _disassociated;
    private int _closing;
    private int _ending;

    public TlsAssociationHandle(Address localAddress, Address remoteAddress, Socket socket, SslStream stream, long maxFrame,
        ILoggingAdapter log, Action<TlsAssociationHandle> ended) : base(localAddress, remoteAddress)
    {
        _socket = socket;
        _stream = stream;
        _maxFrame = maxFrame;
        _log = log;
        _ended = ended;
    }

    /// <summary>Starts the reader (it waits for the protocol layer's listener) and the writer.</summary>
    public void Start()
    {
        _ = Task.Run(ReadLoopAsync);
        _ = Task.Run(WriteLoopAsync);
    }

    public override bool Write(ByteString payload)
    {
        if (Volatile.Read(ref _closing) != 0 || Interlocked.Read(ref _queuedBytes) > HighWaterBytes)
            return false;
        Interlocked.Add(ref _queuedBytes, payload.Length + 4);
        return _outbox.Writer.TryWrite(payload);
    }

    /// <summary>Sends what is queued, then closes the connection (the peer sees its end; an abrupt close after 2 s).</summary>
    [Obsolete("Akka's callers use Disassociate(reason, log), which logs and calls this.")]
    public override void Disassociate()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
            return;
        _outbox.Writer.TryComplete();
    }

    /// <summary>Closes at once, without sending what is queued (the transport's shutdown after its flush wait).</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _closing, 1);
        _outbox.Writer.TryComplete();
        Close();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new ArrayBufferWriter<byte>(BatchBytes);
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_closed.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var payload))
                {
                    Interlocked.Add(ref _queuedBytes, -(payload.Length + 4));
                    BinaryPrimitives.WriteInt32LittleEndian(batch.GetSpan(4), payload.Length);
                    batch.Advance(4);
                    payload.Span.CopyTo(batch.GetSpan(payload.Length));
                    batch.Advance(payload.Length);
                    if (batch.WrittenCount >= BatchBytes)
                    {
                        await _stream.WriteAsync(batch.WrittenMemory, _closed.Token).ConfigureAwait(false);
                        batch.Clear();
                    }
                }
                if (batch.WrittenCount > 0)
                {
                    await _stream.WriteAsync(batch.WrittenMemory, _closed.Token).ConfigureAwait(false);
                    batch.Clear();
                }
                await _stream.FlushAsync(_closed.Token).ConfigureAwait(false);
            }
            // Disassociated by this side: what was queued is sent; say so to the peer (TLS close_notify, then FIN) and give it
            // a moment to close its end before the socket is closed.
            await _stream.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(2), _closed.Token).ConfigureAwait(false);
            _socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(TimeSpan.FromSeconds(2), _closed.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
        }
        Close();
    }

    private async Task ReadLoopAsync()
    {
        IHandleEventListener listener;
        try
        {
            listener = await ReadHandlerSource.Task.WaitAsync(_closed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // closed before the protocol layer took the handle (it refused the association): nobody to tell
        }
        var header = new byte[4];
        var info = DisassociateInfo.Unknown;
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(header, _closed.Token).ConfigureAwait(false);
                var length = BinaryPrimitives.ReadInt32LittleEndian(header);
                if (length < 0 || length > _maxFrame)
                {
                    _log.Warning("closing TLS connection {0} -> {1}: a frame of {2} bytes (at most {3})", LocalAddress, RemoteAddress, length, _maxFrame);
                    break;
                }
                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload, _closed.Token).ConfigureAwait(false);
                listener.Notify(new InboundPayload(UnsafeByteOperations.UnsafeWrap(payload)));
            }
        }
        catch (EndOfStreamException)
        {
            // The peer closed its end (between frames or within one).
            info = DisassociateInfo.Shutdown;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        if (Interlocked.Exchange(ref _disassociated, 1) == 0)
            listener.Notify(new Disassociated(info));
        Close();
    }

    private void Close()
    {
        if (Interlocked.Exchange(ref _ending, 1) != 0)
            return;
        _closed.Cancel();
        _socket.Dispose();
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
        _ended(this);
    }
}
