using System.Collections.Concurrent;
using System.Diagnostics;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>
/// One timer for every worker guest of a node (<see cref="WorkerGuestRuntime"/>): each <see cref="WorkerSettings.RenewEvery"/>
/// it has each guest send its permit renewal (and, every <see cref="WorkerSettings.StatsEvery"/>, its stats request) without
/// waiting for the replies. Before, each guest had a timer of its own whose callback blocked a thread-pool thread for two
/// round trips to its worker (RenewPermit, then Stats) every 250 ms: with 34 guests, 136 blocking pairs a second, and the
/// pool grew to 40 threads with hundreds of items queued while a batch of creates ran beside them (bench/lifecycle).
/// Only guests this node holds are renewed: a guest is added when its runtime is made and removed when it is freed or
/// detached. Thread-safe.
/// </summary>
public sealed class PermitRenewals : IDisposable
{
    private readonly ConcurrentDictionary<WorkerGuestRuntime, byte> _guests = new();
    private readonly Timer _timer;
    private int _ticking;

    /// <summary>Ticks every <paramref name="every"/>.</summary>
    public PermitRenewals(TimeSpan every)
    {
        Every = every;
        _timer = new Timer(_ => Tick(), null, every, every);
    }

    /// <summary>The period of the renewals.</summary>
    public TimeSpan Every { get; }

    /// <summary>Guests renewed now.</summary>
    public int Count => _guests.Count;

    /// <summary>Renews <paramref name="guest"/> from the next tick on.</summary>
    public void Add(WorkerGuestRuntime guest) => _guests[guest] = 0;

    /// <summary>Stops renewing <paramref name="guest"/>.</summary>
    public void Remove(WorkerGuestRuntime guest) => _guests.TryRemove(guest, out _);

    private void Tick()
    {
        // A tick that finds the last one still running (a stalled machine) is skipped: the requests it sends are queued anyway.
        if (Interlocked.Exchange(ref _ticking, 1) != 0)
            return;
        try
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var guest in _guests.Keys)
                guest.RenewDue(now);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    /// <summary>Stops the timer (the guests' permits then lapse unless renewed otherwise).</summary>
    public void Dispose() => _timer.Dispose();
}
