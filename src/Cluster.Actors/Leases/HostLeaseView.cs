using System.Diagnostics;

namespace Cluster.Actors.Leases;

/// <summary>
/// What this node knows of its host lease, as an immutable snapshot (<see cref="HostLeases.View"/>): until when it holds it on
/// the node's monotonic clock (<see cref="Stopwatch"/> ticks: the renewal's send time + ttl - drift margin), who it is
/// (<see cref="Owner"/>) and the keeper's counts.
/// </summary>
/// <param name="Configured">Whether this node keeps a host lease at all (false: single host mode; nothing is bounded by it).</param>
/// <param name="HeldUntilTicks">The local monotonic time (Stopwatch ticks) the lease is held until; 0: never held.</param>
/// <param name="Owner">This node's owner string in the lease row (host, '#', incarnation uid).</param>
/// <param name="Renewals">Successful acquisitions and renewals.</param>
/// <param name="Failures">Renewals that failed (the database could not be asked) or found another owner.</param>
public sealed record HostLeaseView(bool Configured, long HeldUntilTicks, string Owner, long Renewals, long Failures)
{
    /// <summary>No lease kept (single host mode, or not started yet in a test).</summary>
    public static HostLeaseView None { get; } = new(false, 0, "", 0, 0);

    /// <summary>How long the lease still holds at local monotonic time <paramref name="nowTicks"/> (zero once run out); null when no lease is kept.</summary>
    public TimeSpan? Remaining(long nowTicks) =>
        Configured ? TimeSpan.FromSeconds(Math.Max(0, HeldUntilTicks - nowTicks) / (double)Stopwatch.Frequency) : null;

    /// <summary>How long the lease still holds now (see <see cref="Remaining(long)"/>).</summary>
    public TimeSpan? RemainingNow => Remaining(Stopwatch.GetTimestamp());

    /// <summary>
    /// Whether a guest may be given (or keep) a run permit now for at least <paramref name="margin"/>: true without a lease;
    /// with one, only while it holds for longer than <paramref name="margin"/>.
    /// </summary>
    public bool Holds(TimeSpan margin) => RemainingNow is not { } left || left > margin;

    /// <summary>
    /// How long a permit asked for <paramref name="permit"/> may last: at most what the lease has left on the node's clock
    /// (zero when it ran out: renew nothing). Without a lease, <paramref name="permit"/>.
    /// </summary>
    public TimeSpan Bound(TimeSpan permit) => RemainingNow is { } left ? (left < permit ? left : permit) : permit;
}
