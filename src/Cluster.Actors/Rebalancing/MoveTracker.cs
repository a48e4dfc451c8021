using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The rebalancer's moves after it started them (pure; times are passed in): in flight until the VM accepts
/// and the migration ends; a completed move then settles until the hosts' reports show the VM on its target,
/// and stays in the history for hysteresis; a refused, failed, cancelled or timed-out move holds its VM back
/// for a back-off that doubles with every failure in a row. A refusal (the VM would not move, e.g. it is not
/// running) is also reported as a reason the VM cannot leave; a failed migration is only retried.
/// </summary>
public sealed class MoveTracker(RebalanceSettings settings)
{
    private readonly Dictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PlannedMove Move, DateTime At)> _settling = new(StringComparer.Ordinal);
    private readonly List<RecentMove> _history = [];
    private readonly Dictionary<string, (int Failures, DateTime Until, string Reason, bool Refused)> _backoff = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _dirtyRates = new(StringComparer.Ordinal);

    /// <summary>Moves completed since the rebalancer started.</summary>
    public int MovesMade { get; private set; }

    /// <summary>The moves started and not finished.</summary>
    public IReadOnlyList<PlannedMove> InFlightMoves => [.. _inFlight.Values.Select(m => m.Move).OrderBy(m => m.VmId, StringComparer.Ordinal)];

    /// <summary>The moves the planner must take as done (in flight: active; settling: not counted against the limits).</summary>
    public IReadOnlyList<PendingMove> Pending =>
    [
        .. _inFlight.Values.Select(m => new PendingMove(m.Move.VmId, m.Move.From, m.Move.To, Active: true)),
        .. _settling.Values.Select(s => new PendingMove(s.Move.VmId, s.Move.From, s.Move.To, Active: false)),
    ];

    /// <summary>Completed moves within the history window.</summary>
    public IReadOnlyList<RecentMove> History => _history;

    /// <summary>VMs backing off after a failed move, with the failure, until the back-off ends.</summary>
    public IReadOnlyDictionary<string, string> HeldReasons(DateTime now) =>
        _backoff.Where(b => b.Value.Until > now).ToDictionary(b => b.Key, b => b.Value.Reason, StringComparer.Ordinal);

    /// <summary>VMs whose last move their VM refused, with the refusal and when it is tried again, until then.</summary>
    public IReadOnlyDictionary<string, string> Refusals(DateTime now) =>
        _backoff.Where(b => b.Value.Refused && b.Value.Until > now)
            .ToDictionary(b => b.Key, b => $"{b.Value.Reason} (tried again at {b.Value.Until:HH:mm:ss})", StringComparer.Ordinal);

    /// <summary>The dirty rate a migration of <paramref name="vmId"/> measured last, or null.</summary>
    public double? DirtyRate(string vmId) => _dirtyRates.TryGetValue(vmId, out var rate) ? rate : null;

    /// <summary>Remembers the dirty rate measured by any migration (the cost model prefers it to an estimate).</summary>
    public void Observe(MigrationInfo info)
    {
        if (info.DirtyBytesPerSecond > 0)
            _dirtyRates[info.VmId] = info.DirtyBytesPerSecond;
    }

    /// <summary>A move was sent to its VM.</summary>
    public void Started(PlannedMove move, MigrationTrigger trigger, DateTime now) => _inFlight[move.VmId] = new InFlight(move, trigger, now);

    /// <summary>The VM accepted the move.</summary>
    public void Accepted(string vmId, string migrationId)
    {
        if (_inFlight.TryGetValue(vmId, out var m))
            _inFlight[vmId] = m with { MigrationId = migrationId };
    }

    /// <summary>The VM refused the move; it backs off. Returns the refused move, or null when it was not ours.</summary>
    public PlannedMove? Refused(string vmId, string reason, DateTime now) => Failed(vmId, reason, now, refused: true);

    /// <summary>The move failed to start or to finish; its VM backs off. Returns the failed move, or null when it was not ours.</summary>
    public PlannedMove? Failed(string vmId, string reason, DateTime now) => Failed(vmId, reason, now, refused: false);

    private PlannedMove? Failed(string vmId, string reason, DateTime now, bool refused)
    {
        if (!_inFlight.Remove(vmId, out var m))
            return null;
        var failures = _backoff.TryGetValue(vmId, out var b) ? b.Failures + 1 : 1;
        var wait = TimeSpan.FromTicks(Math.Min(settings.RetryBackoffMax.Ticks, settings.RetryBackoff.Ticks * (1L << Math.Min(failures - 1, 20))));
        _backoff[vmId] = (failures, now + wait, reason, refused);
        return m.Move;
    }

    /// <summary>The move completed. Returns it, or null when it was not ours.</summary>
    public PlannedMove? Completed(string vmId, DateTime now)
    {
        if (!_inFlight.Remove(vmId, out var m))
            return null;
        _backoff.Remove(vmId);
        _settling[vmId] = (m.Move, now);
        _history.Add(new RecentMove(vmId, m.Move.From, m.Move.To, now));
        MovesMade++;
        return m.Move;
    }

    /// <summary>
    /// Applies a migration's progress: a final state ends our move of that VM (a migration of the same VM to
    /// another target, by an operator, is not ours). Returns the move and whether it completed, or null.
    /// </summary>
    public (PlannedMove Move, bool Completed)? Progress(MigrationInfo info, DateTime now)
    {
        if (info.InProgress || !_inFlight.TryGetValue(info.VmId, out var m) || m.Move.To != info.Target
            || (m.MigrationId is not null && m.MigrationId != info.MigrationId))
            return null;
        return info.State == MigrationState.Completed
            ? (Completed(info.VmId, now)!, true)
            : (Failed(info.VmId, $"migration {info.State.ToString().ToLowerInvariant()}: {info.FailureReason}", now)!, false);
    }

    /// <summary>
    /// Housekeeping at each interval: a move whose VM the hosts already show on its target completed (its
    /// final progress was missed); one not accepted in time or running past the move timeout failed; settled
    /// moves and old history and back-offs are forgotten. <paramref name="isOn"/> says whether the hosts show a VM on a host.
    /// Returns the moves that timed out.
    /// </summary>
    public IReadOnlyList<PlannedMove> Tick(DateTime now, Func<string, string, bool> isOn)
    {
        var timedOut = new List<PlannedMove>();
        foreach (var m in _inFlight.Values.ToList())
        {
            if (isOn(m.Move.VmId, m.Move.To) && !isOn(m.Move.VmId, m.Move.From))
                Completed(m.Move.VmId, now);
            else if ((m.MigrationId is null && now - m.StartedAt > settings.AcceptTimeout) || now - m.StartedAt > settings.MoveTimeout)
            {
                timedOut.Add(m.Move);
                Failed(m.Move.VmId, m.MigrationId is null ? "the VM did not accept the move in time" : "the migration did not end in time", now);
            }
        }
        foreach (var (vmId, s) in _settling.ToList())
        {
            if ((isOn(vmId, s.Move.To) && !isOn(vmId, s.Move.From)) || now - s.At > settings.SettleTimeout)
                _settling.Remove(vmId);
        }
        _history.RemoveAll(h => now - h.At >= settings.History);
        foreach (var (vmId, b) in _backoff.ToList())
        {
            if (now - b.Until > settings.RetryBackoffMax)
                _backoff.Remove(vmId);
        }
        return timedOut;
    }

    private sealed record InFlight(PlannedMove Move, MigrationTrigger Trigger, DateTime StartedAt, string? MigrationId = null);
}
