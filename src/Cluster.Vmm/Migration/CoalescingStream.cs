namespace Cluster.Vmm.Migration;

/// <summary>
/// The socket under a migration connection's TLS: TLS cuts every write into records of at most 16 KiB and hands
/// each to the stream below on its own, which on a bare socket is one send call per record (and on the other side
/// one receive call per record). Once <see cref="Coalesce"/> is on, writes gather in a buffer that goes out in one
/// send when it is full or at <see cref="Flush"/> (the frame stream flushes after every frame, so nothing waits
/// in it for a reply); reads fill a buffer of the same size with as much as the socket has. Off during the
/// handshake, which flushes nothing. The read and the write side share no state: one reader thread and one writer
/// thread may use it at once, as they do the frame stream.
/// </summary>
internal sealed class CoalescingStream(Stream inner, int capacity = CoalescingStream.DefaultCapacity) : Stream
{
    /// <summary>Large enough that a send or a receive call moves many records, small enough to stay in cache.</summary>
    public const int DefaultCapacity = 256 << 10;

    private readonly byte[] _write = new byte[capacity];
    private readonly byte[] _read = new byte[capacity];
    private int _written;
    private int _readStart, _readEnd;

    /// <summary>Whether writes are gathered (after the handshake); reads are buffered either way.</summary>
    public bool Coalesce { get; set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (_readStart == _readEnd)
        {
            // A read as large as the buffer goes straight to the caller.
            if (buffer.Length >= _read.Length) return inner.Read(buffer);
            _readStart = 0;
            _readEnd = inner.Read(_read);
            if (_readEnd == 0) return 0;
        }
        int n = Math.Min(buffer.Length, _readEnd - _readStart);
        _read.AsSpan(_readStart, n).CopyTo(buffer);
        _readStart += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return 0;
        if (_readStart == _readEnd)
        {
            if (buffer.Length >= _read.Length) return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _readStart = 0;
            _readEnd = await inner.ReadAsync(_read, cancellationToken).ConfigureAwait(false);
            if (_readEnd == 0) return 0;
        }
        int n = Math.Min(buffer.Length, _readEnd - _readStart);
        _read.AsMemory(_readStart, n).CopyTo(buffer);
        _readStart += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Coalesce)
        {
            inner.Write(buffer);
            return;
        }
        if (_written + buffer.Length > _write.Length) FlushBuffer();
        if (buffer.Length >= _write.Length)
        {
            inner.Write(buffer);
            return;
        }
        buffer.CopyTo(_write.AsSpan(_written));
        _written += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!Coalesce) return inner.WriteAsync(buffer, cancellationToken);
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
        FlushBuffer();
        inner.Flush();
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    private void FlushBuffer()
    {
        if (_written == 0) return;
        inner.Write(_write.AsSpan(0, _written));
        _written = 0;
    }
}
