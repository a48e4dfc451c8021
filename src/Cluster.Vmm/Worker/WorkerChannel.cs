using System.Buffers.Binary;
using System.Net.Sockets;
using Cluster.Vmm.Native;
using Microsoft.Win32.SafeHandles;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The frames of the worker protocol (<see cref="WorkerProtocol"/>) on one connected Unix socket.
/// Writes are serialised (any thread may write); reads belong to one reader thread. A frame may carry file descriptors
/// (SCM_RIGHTS), sent with its header; a channel made with <c>acceptDescriptors</c> receives them with the frame, any
/// other drops them (the kernel closes descriptors that a plain receive does not take).
/// </summary>
public sealed class WorkerChannel : IDisposable
{
    private readonly Socket _socket;
    private readonly object _writeGate = new();
    private readonly byte[] _readHeader = new byte[WorkerProtocol.HeaderSize];
    private readonly bool _acceptDescriptors;
    private int _disposed;

    /// <summary>Wraps a connected socket; a send blocked longer than <paramref name="sendTimeout"/> fails;
    /// <paramref name="acceptDescriptors"/>: frames bring the descriptors sent with them.</summary>
    public WorkerChannel(Socket socket, TimeSpan sendTimeout, bool acceptDescriptors = false)
    {
        _socket = socket ?? throw new ArgumentNullException(nameof(socket));
        _socket.SendTimeout = (int)sendTimeout.TotalMilliseconds;
        _acceptDescriptors = acceptDescriptors;
    }

    /// <summary>The socket (for peer credentials).</summary>
    public Socket Socket => _socket;

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsClosed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Writes one frame.</summary>
    /// <exception cref="SocketException">the connection failed or a send timed out.</exception>
    /// <exception cref="ObjectDisposedException">the channel was closed.</exception>
    public void Write(WorkerMessageType type, uint requestId, ReadOnlySpan<byte> payload) => Write(type, requestId, payload, []);

    /// <summary>Writes one frame with <paramref name="descriptors"/> (SCM_RIGHTS, at most <see cref="ScmRights.MaxFds"/>),
    /// which the kernel duplicates into the receiving process: the caller keeps its own.</summary>
    /// <exception cref="SocketException">the connection failed or a send timed out.</exception>
    /// <exception cref="ObjectDisposedException">the channel was closed.</exception>
    public void Write(WorkerMessageType type, uint requestId, ReadOnlySpan<byte> payload, IReadOnlyList<SafeFileHandle> descriptors)
    {
        Span<byte> header = stackalloc byte[WorkerProtocol.HeaderSize];
        header[0] = (byte)type;
        header[1] = header[2] = header[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], requestId);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], payload.Length);
        lock (_writeGate)
        {
            ReadOnlySpan<byte> rest = header;
            if (descriptors.Count > 0)
            {
                ObjectDisposedException.ThrowIf(IsClosed, this);
                rest = rest[ScmRights.Send(_socket, header, descriptors)..];
            }
            SendAll(rest);
            SendAll(payload);
        }
    }

    /// <summary>Reads one frame; null when the peer closed the connection cleanly between frames.</summary>
    /// <exception cref="VmmException">a bad header, or the connection closed inside a frame.</exception>
    /// <exception cref="SocketException">the connection failed.</exception>
    public (WorkerMessageType Type, uint RequestId, byte[] Payload)? Read()
    {
        var frame = Read(out var descriptors);
        foreach (var d in descriptors) d.Dispose();
        return frame;
    }

    /// <summary>Reads one frame and the descriptors that came with it (owned by the caller; none unless the channel accepts them).</summary>
    /// <exception cref="VmmException">a bad header, or the connection closed inside a frame.</exception>
    /// <exception cref="SocketException">the connection failed.</exception>
    public (WorkerMessageType Type, uint RequestId, byte[] Payload)? Read(out List<SafeFileHandle> descriptors)
    {
        descriptors = [];
        try
        {
            return ReadFrame(descriptors);
        }
        catch
        {
            foreach (var d in descriptors) d.Dispose();
            descriptors.Clear();
            throw;
        }
    }

    private (WorkerMessageType Type, uint RequestId, byte[] Payload)? ReadFrame(List<SafeFileHandle> descriptors)
    {
        if (!ReceiveAll(_readHeader, allowEnd: true, descriptors)) return null;
        var type = (WorkerMessageType)_readHeader[0];
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(_readHeader.AsSpan(4));
        int length = BinaryPrimitives.ReadInt32LittleEndian(_readHeader.AsSpan(8));
        if (!Enum.IsDefined(type) || type == WorkerMessageType.Invalid)
            throw new VmmException($"worker frame with unknown type {(byte)type}", "worker-protocol");
        if (_readHeader[1] != 0 || _readHeader[2] != 0 || _readHeader[3] != 0)
            throw new VmmException("worker frame with non-zero reserved bytes", "worker-protocol");
        if (length < 0 || length > WorkerProtocol.MaxPayload)
            throw new VmmException($"worker frame of {length} bytes exceeds the limit of {WorkerProtocol.MaxPayload}", "worker-protocol");
        var payload = new byte[length];
        ReceiveAll(payload, allowEnd: false);
        return (type, id, payload);
    }

    /// <summary>Closes the connection; a blocked read or write on another thread fails.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        _socket.Dispose();
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty) data = data[_socket.Send(data)..];
    }

    private bool ReceiveAll(Span<byte> data, bool allowEnd, List<SafeFileHandle>? descriptors = null)
    {
        bool first = true;
        while (!data.IsEmpty)
        {
            int n = _acceptDescriptors && descriptors is not null ? ScmRights.Receive(_socket, data, descriptors) : _socket.Receive(data);
            if (n == 0)
            {
                if (first && allowEnd) return false;
                throw new VmmException("the worker connection closed inside a frame", "worker-io");
            }
            first = false;
            data = data[n..];
        }
        return true;
    }
}
