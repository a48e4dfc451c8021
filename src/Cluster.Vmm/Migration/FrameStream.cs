using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Cluster.Vmm.Migration;

/// <summary>
/// Reads and writes the frames of the migration protocol (<see cref="MigrationProtocol"/>) on one
/// connected socket, with blocking calls bounded by the socket's timeouts, over TLS once authenticated
/// (<see cref="MigrationChannel"/>). Counts the bytes it moves (frames, not TLS records).
/// Not thread-safe: one reader and one writer at most, each on its own thread.
/// </summary>
public sealed class FrameStream : IDisposable
{
    private readonly Socket _socket;
    private NetworkStream? _network;
    private CoalescingStream? _coalescer;
    private Stream? _stream;
    private readonly byte[] _header = new byte[MigrationProtocol.HeaderSize];
    private readonly byte[] _readHeader = new byte[MigrationProtocol.HeaderSize];
    private long _bytesWritten;
    private long _bytesRead;

    /// <summary>Wraps a connected socket, with <paramref name="ioTimeout"/> on every send and receive.</summary>
    public FrameStream(Socket socket, TimeSpan ioTimeout)
    {
        _socket = socket ?? throw new ArgumentNullException(nameof(socket));
        _socket.NoDelay = true;
        _socket.SendBufferSize = 4 << 20;
        _socket.ReceiveBufferSize = 4 << 20;
        _socket.SendTimeout = (int)ioTimeout.TotalMilliseconds;
        _socket.ReceiveTimeout = (int)ioTimeout.TotalMilliseconds;
    }

    /// <summary>The socket as a stream, made once it is connected.</summary>
    private NetworkStream Network => _network ??= new NetworkStream(_socket, ownsSocket: false);

    /// <summary>The socket with its reads buffered and, once authenticated, its writes gathered until a frame ends.</summary>
    private CoalescingStream Coalescer => _coalescer ??= new CoalescingStream(Network);

    /// <summary>What frames are read from and written to: the socket, or TLS over it once authenticated.</summary>
    private Stream Stream => _stream ??= Coalescer;

    /// <summary>"TLS 1.3 SUITE" or "plaintext".</summary>
    public string Transport => MigrationChannel.Describe(Stream);

    /// <summary>The source's side, on a connected socket before any frame: TLS with the pin checked, then the token.</summary>
    /// <exception cref="VmmException">the target's certificate does not match the pin, or the handshake failed.</exception>
    public void Authenticate(MigrationCredentials credentials)
    {
        _stream = MigrationChannel.Connect(Coalescer, credentials);
        Coalescer.Coalesce = true;
    }

    /// <summary>The target's side, on an accepted socket before any frame (see <see cref="MigrationChannel.AcceptAsync"/>).</summary>
    public async Task AcceptAsync(MigrationIdentity identity, SslStreamCertificateContext? context, TimeSpan timeout, CancellationToken ct)
    {
        _stream = await MigrationChannel.AcceptAsync(Coalescer, identity, context, timeout, ct).ConfigureAwait(false);
        Coalescer.Coalesce = true;
    }

    /// <summary>Bytes written, headers included.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Bytes read, headers included.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>Writes one frame.</summary>
    /// <exception cref="IOException">the connection failed or timed out.</exception>
    public void Write(MigrationCommand command, ReadOnlySpan<byte> payload)
    {
        WriteHeader(_header, command, payload.Length);
        SendAll(_header);
        SendAll(payload);
        Stream.Flush();
        Interlocked.Add(ref _bytesWritten, MigrationProtocol.HeaderSize + payload.Length);
    }

    /// <summary>Writes one frame whose header the caller reserved in the first
    /// <see cref="MigrationProtocol.HeaderSize"/> bytes of <paramref name="frame"/>: one send call.</summary>
    public void WriteFramed(MigrationCommand command, Span<byte> frame)
    {
        WriteHeader(frame, command, frame.Length - MigrationProtocol.HeaderSize);
        SendAll(frame);
        Stream.Flush();
        Interlocked.Add(ref _bytesWritten, frame.Length);
    }

    /// <summary>Writes a frame whose payload is a UTF-8 text (Refuse, Abort).</summary>
    public void WriteText(MigrationCommand command, string text) => Write(command, Encoding.UTF8.GetBytes(text));

    /// <summary>Reads one frame's header and its payload into <paramref name="buffer"/> (grown as needed).</summary>
    /// <exception cref="VmmException">a bad header or the peer closed the connection.</exception>
    /// <exception cref="IOException">the connection failed or timed out.</exception>
    public (MigrationCommand Command, int Length) Read(ref byte[] buffer)
    {
        ReceiveAll(_readHeader);
        var command = (MigrationCommand)_readHeader[0];
        int length = BinaryPrimitives.ReadInt32LittleEndian(_readHeader.AsSpan(4));
        if (command == MigrationCommand.Invalid || command > MigrationProtocol.LastCommand)
            throw new VmmException($"migration frame with unknown command {(byte)command}", "migration-protocol");
        if (_readHeader[1] != 0 || _readHeader[2] != 0 || _readHeader[3] != 0)
            throw new VmmException("migration frame with non-zero reserved bytes", "migration-protocol");
        if (length < 0 || length > MigrationProtocol.MaxPayload)
            throw new VmmException($"migration frame of {length} bytes exceeds the limit", "migration-protocol");
        if (buffer.Length < length) buffer = new byte[Math.Max(length, buffer.Length * 2)];
        ReceiveAll(buffer.AsSpan(0, length));
        Interlocked.Add(ref _bytesRead, MigrationProtocol.HeaderSize + length);
        return (command, length);
    }

    /// <summary>Closes the connection at once; a blocked read or write on another thread fails.</summary>
    public void Dispose()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        _socket.Dispose();
        try { _stream?.Dispose(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
        _network?.Dispose();
    }

    private static void WriteHeader(Span<byte> header, MigrationCommand command, int length)
    {
        header[0] = (byte)command;
        header[1] = header[2] = header[3] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], length);
    }

    private void SendAll(ReadOnlySpan<byte> data) => Stream.Write(data);

    private void ReceiveAll(Span<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = Stream.Read(data);
            if (n == 0) throw new VmmException("the migration peer closed the connection", "migration-io");
            data = data[n..];
        }
    }
}
