namespace Cluster.Actors.Downing;

/// <summary>
/// When the link-aware downing acts (pure; times are passed in): once broken links have been seen for
/// <c>decide-after</c> (their first sighting kept across flaps, forgotten after <c>forget-after</c> without one) and the
/// decision they lead to (the members to down) has stayed the same for <c>settle</c>.
/// <para>
/// The decision, not the raw records, has to settle: on a loaded host the records of other pairs come and go (a late
/// heartbeat, a third host's view) without changing which end of the broken link goes, and waiting for all of them to
/// hold still let the split brain resolver, whose timer only restarts when the set of unreachable members changes,
/// decide first and down both ends.
/// </para>
/// </summary>
public sealed class BrokenLinkWatch(LinkDowningSettings settings)
{
    private DateTime? _brokenSince;
    private DateTime _lastSeen;
    private string? _decision;
    private DateTime _decisionSince;

    /// <summary>
    /// Takes this check's decision (<paramref name="decision"/>: a key naming the members to down, null when no link is
    /// broken) and says whether to carry it out now.
    /// </summary>
    public bool Observe(DateTime now, string? decision)
    {
        if (decision is null)
        {
            if (_brokenSince is not null && now - _lastSeen > settings.ForgetAfter)
                (_brokenSince, _decision) = (null, null);
            return false;
        }
        _brokenSince ??= now;
        _lastSeen = now;
        if (decision != _decision)
            (_decision, _decisionSince) = (decision, now);
        return now - _brokenSince.Value >= settings.DecideAfter && now - _decisionSince >= settings.Settle;
    }

    /// <summary>How long broken links have been seen (since the first sighting not forgotten), or null.</summary>
    public TimeSpan? BrokenFor(DateTime now) => now - _brokenSince;

    /// <summary>How long the decision has stayed the same.</summary>
    public TimeSpan SettledFor(DateTime now) => now - _decisionSince;

    /// <summary>The decision was carried out: the next broken link starts afresh.</summary>
    public void Done() => (_brokenSince, _decision) = (null, null);
}
