using System.Diagnostics;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The lease under which a worker's guest may run, on the monotonic clock (<see cref="Stopwatch"/>): once
/// given, it expires unless renewed. Not enforced until the first grant when created without one.
/// Thread-safe.
/// </summary>
public sealed class RunPermit
{
    private readonly object _gate = new();
    private long _expiresAt = long.MaxValue;
    private bool _enforced;

    /// <summary>Whether an expiry is being enforced.</summary>
    public bool Enforced { get { lock (_gate) return _enforced; } }

    /// <summary>Makes the permit valid for <paramref name="validFor"/> from now, and enforced from now on.</summary>
    public void Grant(TimeSpan validFor)
    {
        if (validFor < TimeSpan.Zero) validFor = TimeSpan.Zero;
        lock (_gate)
        {
            _enforced = true;
            _expiresAt = Stopwatch.GetTimestamp() + (long)(validFor.TotalSeconds * Stopwatch.Frequency);
        }
    }

    /// <summary>Time left; null when not enforced; zero or less once expired.</summary>
    public TimeSpan? Remaining
    {
        get
        {
            lock (_gate)
                return _enforced ? Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _expiresAt) : null;
        }
    }

    /// <summary>Whether an enforced permit has expired.</summary>
    public bool Expired => Remaining is { } left && left <= TimeSpan.Zero;
}
