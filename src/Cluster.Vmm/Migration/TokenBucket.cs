using System.Diagnostics;

namespace Cluster.Vmm.Migration;

/// <summary>
/// A bandwidth cap shared by the sending connections: tokens (bytes) refill at
/// <see cref="BytesPerSecond"/> up to a burst of 20 ms worth; <see cref="Take"/> blocks until
/// the bytes are covered. A rate of 0 means no cap. Thread-safe.
/// </summary>
public sealed class TokenBucket
{
    private readonly object _gate = new();
    private readonly double _burst;
    private double _tokens;
    private long _last;

    /// <summary>A bucket for <paramref name="bytesPerSecond"/> (0: unlimited).</summary>
    public TokenBucket(long bytesPerSecond)
    {
        if (bytesPerSecond < 0) throw new ArgumentOutOfRangeException(nameof(bytesPerSecond));
        BytesPerSecond = bytesPerSecond;
        _burst = Math.Max(bytesPerSecond * 0.02, 64 * 1024);
        _tokens = 0;
        _last = Stopwatch.GetTimestamp();
    }

    /// <summary>The cap in bytes per second; 0 for none.</summary>
    public long BytesPerSecond { get; }

    /// <summary>Waits until <paramref name="bytes"/> may be sent, then spends them.</summary>
    public void Take(int bytes, CancellationToken ct)
    {
        if (BytesPerSecond == 0) return;
        while (true)
        {
            double wait;
            lock (_gate)
            {
                long now = Stopwatch.GetTimestamp();
                _tokens = Math.Min(_burst, _tokens + (now - _last) * (double)BytesPerSecond / Stopwatch.Frequency);
                _last = now;
                if (_tokens >= 0)
                {
                    _tokens -= bytes;
                    return;
                }
                wait = -_tokens / BytesPerSecond;
            }
            ct.WaitHandle.WaitOne(TimeSpan.FromSeconds(Math.Max(wait, 0.001)));
            ct.ThrowIfCancellationRequested();
        }
    }
}
