namespace Cluster.Actors.Devices;

/// <summary>
/// The token bucket of one console: <see cref="Admit"/> says how many bytes of a write are kept (a prefix), counts the
/// rest as dropped, and <see cref="TakeMarker"/> turns the drops not yet reported into the text put in the stream.
/// Time is passed in, so that it is tested without waiting. Not thread-safe (one actor owns it).
/// </summary>
public sealed class ConsoleRateLimiter
{
    private readonly long _rate;
    private readonly long _burst;
    private double _tokens;
    private TimeSpan _last;
    private long _unreported;

    /// <summary>A full bucket at time <paramref name="now"/>.</summary>
    public ConsoleRateLimiter(long bytesPerSecond, long burstBytes, TimeSpan now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burstBytes, 1);
        _rate = bytesPerSecond;
        _burst = burstBytes;
        _tokens = burstBytes;
        _last = now;
    }

    /// <summary>Bytes dropped since creation.</summary>
    public long DroppedBytes { get; private set; }

    /// <summary>How many of <paramref name="length"/> bytes written at <paramref name="now"/> are kept (the first ones).</summary>
    public int Admit(int length, TimeSpan now)
    {
        if (now > _last)
        {
            _tokens = Math.Min(_burst, _tokens + (now - _last).TotalSeconds * _rate);
            _last = now;
        }
        int kept = (int)Math.Min(length, Math.Floor(_tokens));
        _tokens -= kept;
        DroppedBytes += length - kept;
        _unreported += length - kept;
        return kept;
    }

    /// <summary>
    /// The marker for the bytes dropped since the last one ("[console: N bytes dropped]" on a line of its own, so a newline
    /// first unless <paramref name="atLineStart"/>), or null when none were; markers are not charged to the bucket.
    /// </summary>
    public byte[]? TakeMarker(bool atLineStart)
    {
        if (_unreported == 0) return null;
        var text = $"{(atLineStart ? "" : "\n")}[console: {_unreported} bytes dropped]\n";
        _unreported = 0;
        return System.Text.Encoding.ASCII.GetBytes(text);
    }
}
