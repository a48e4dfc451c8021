namespace Cluster.Vmm.Worker;

/// <summary>
/// The last <see cref="Capacity"/> bytes of a guest's serial output, numbered by absolute offset from the
/// first byte the guest ever wrote. Appending never blocks on readers (a vCPU thread appends); a reader
/// that fell further behind than the capacity loses the oldest bytes and learns it from the offset.
/// Thread-safe.
/// </summary>
public sealed class ConsoleHistory
{
    private readonly object _gate = new();
    private readonly byte[] _ring;
    private long _end;

    /// <summary>A history of <paramref name="capacity"/> bytes.</summary>
    public ConsoleHistory(int capacity = WorkerProtocol.ConsoleHistoryBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new byte[capacity];
    }

    /// <summary>The bytes kept.</summary>
    public int Capacity => _ring.Length;

    /// <summary>The absolute offset just past the last byte written.</summary>
    public long End { get { lock (_gate) return _end; } }

    /// <summary>The absolute offset of the oldest byte kept.</summary>
    public long Start { get { lock (_gate) return Math.Max(0, _end - _ring.Length); } }

    /// <summary>Appends output.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            if (bytes.Length > _ring.Length)
            {
                _end += bytes.Length - _ring.Length;
                bytes = bytes[^_ring.Length..];
            }
            int at = (int)(_end % _ring.Length);
            int first = Math.Min(bytes.Length, _ring.Length - at);
            bytes[..first].CopyTo(_ring.AsSpan(at));
            bytes[first..].CopyTo(_ring);
            _end += bytes.Length;
        }
    }

    /// <summary>Up to <paramref name="max"/> bytes from <paramref name="offset"/> on (or from the oldest byte kept,
    /// when that is later), with the offset of the first one returned.</summary>
    public (long Offset, byte[] Bytes) Read(long offset, int max = int.MaxValue)
    {
        lock (_gate)
        {
            long start = Math.Max(Math.Max(0, _end - _ring.Length), offset);
            int n = (int)Math.Min(Math.Max(0, _end - start), max);
            var result = new byte[n];
            int at = (int)(start % _ring.Length);
            int first = Math.Min(n, _ring.Length - at);
            _ring.AsSpan(at, first).CopyTo(result);
            _ring.AsSpan(0, n - first).CopyTo(result.AsSpan(first));
            return (start, result);
        }
    }
}
