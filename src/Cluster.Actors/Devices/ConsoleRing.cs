namespace Cluster.Actors.Devices;

/// <summary>The last <see cref="Capacity"/> bytes written to a console, oldest dropped first.</summary>
public sealed class ConsoleRing(int capacity)
{
    private readonly byte[] _buffer = new byte[capacity];
    private long _written;

    public int Capacity => _buffer.Length;

    /// <summary>Bytes currently held (at most <see cref="Capacity"/>).</summary>
    public int Count => (int)Math.Min(_written, _buffer.Length);

    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length >= _buffer.Length)
            data = data[^_buffer.Length..];
        var start = (int)(_written % _buffer.Length);
        var first = Math.Min(data.Length, _buffer.Length - start);
        data[..first].CopyTo(_buffer.AsSpan(start));
        data[first..].CopyTo(_buffer);
        _written += data.Length;
    }

    /// <summary>The last <paramref name="max"/> bytes (or fewer), oldest first.</summary>
    public byte[] Tail(int max)
    {
        var n = Math.Min(Math.Max(max, 0), Count);
        var result = new byte[n];
        var start = (int)((_written - n) % _buffer.Length);
        var first = Math.Min(n, _buffer.Length - start);
        _buffer.AsSpan(start, first).CopyTo(result);
        _buffer.AsSpan(0, n - first).CopyTo(result.AsSpan(first));
        return result;
    }
}
