namespace Cluster.Actors.Downing;

/// <summary>
/// The pure decision of the link-aware downing: given the cluster's unreachability records (observer cannot reach subject)
/// among live members, finds the broken links between members that still reach the rest of the cluster, and a minimal set
/// of members whose downing removes every such link.
/// <para>
/// A link counts as broken when both its ends are <em>indirectly connected</em> in Akka's sense: each observes some member
/// as unreachable and is itself observed as unreachable. That never happens in a clean partition or a crash, where the
/// records of the cut-off side cannot reach the others; it is the mark of a one-way or flapping link between two hosts
/// that both still gossip through a third. Akka's split brain resolver downs every indirectly connected member (both ends
/// of each link); this downs one end of each: greedily the member on the most broken links, ties going against the
/// member on the most records (a host that stalled is recorded by every peer), then against the member to keep last
/// (the youngest), so every node that decides decides the same.
/// </para>
/// </summary>
public static class LinkFailures
{
    /// <summary>The records whose observer and subject are both indirectly connected (the broken links).</summary>
    public static IReadOnlyList<(T Observer, T Subject)> BrokenLinks<T>(IEnumerable<(T Observer, T Subject)> unreachable) where T : notnull
    {
        var records = unreachable.Where(r => !EqualityComparer<T>.Default.Equals(r.Observer, r.Subject)).Distinct().ToList();
        var observers = records.Select(r => r.Observer).ToHashSet();
        var indirect = records.Select(r => r.Subject).Where(observers.Contains).ToHashSet();
        return records.Where(r => indirect.Contains(r.Observer) && indirect.Contains(r.Subject)).ToList();
    }

    /// <summary>
    /// The one-way records that <paramref name="self"/> may settle: <c>observer cannot reach subject</c> with no record the other
    /// way, where nobody records the observer, the subject is recorded by that observer alone, and <paramref name="self"/> is
    /// neither end and on no record (it reaches both). Akka's resolver counts both ends as indirectly connected and downs
    /// both once such a record has held for its stable-after (a flapping link whose other direction never lost enough
    /// heartbeats to be recorded). Only a member that reaches both ends may judge it, and it downs the subject: a member
    /// that is itself cut off (the minority of a partition, whose own records come in one by one) is an observer and never
    /// acts on one, and a crashed or stalled subject is the one to go (its other observers' records follow, and then the
    /// record is no longer one-way).
    /// </summary>
    public static IReadOnlyList<(T Observer, T Subject)> OneWayLinks<T>(IEnumerable<(T Observer, T Subject)> unreachable, T self) where T : notnull
    {
        var eq = EqualityComparer<T>.Default;
        var records = unreachable.Where(r => !eq.Equals(r.Observer, r.Subject)).Distinct().ToList();
        var pairs = records.ToHashSet();
        var subjects = records.Select(r => r.Subject).ToHashSet();
        if (subjects.Contains(self) || records.Any(r => eq.Equals(r.Observer, self)))
            return [];
        return records.Where(r =>
            !pairs.Contains((r.Subject, r.Observer)) &&
            !subjects.Contains(r.Observer) &&
            records.Count(x => eq.Equals(x.Subject, r.Subject)) == 1).ToList();
    }

    /// <summary>
    /// The members to down so that no broken link is left: at most one end of each link, chosen greedily (most links
    /// first; among those, the member on the most of all the <paramref name="records"/> when given, as a host that stalled
    /// is recorded by every peer; then the member <paramref name="keepFirst"/> orders last). Empty when there are no broken links.
    /// </summary>
    public static IReadOnlyList<T> ToDown<T>(IEnumerable<(T Observer, T Subject)> links, IComparer<T> keepFirst,
        IEnumerable<(T Observer, T Subject)>? records = null) where T : notnull
    {
        var left = links.Select(l => (l.Observer, l.Subject)).ToList();
        var onRecords = new Dictionary<T, int>();
        foreach (var (o, s) in (records ?? []).Where(r => !EqualityComparer<T>.Default.Equals(r.Observer, r.Subject)).Distinct())
        {
            onRecords[o] = onRecords.GetValueOrDefault(o) + 1;
            onRecords[s] = onRecords.GetValueOrDefault(s) + 1;
        }
        var down = new List<T>();
        while (left.Count > 0)
        {
            var degree = new Dictionary<T, int>();
            foreach (var (o, s) in left)
            {
                degree[o] = degree.GetValueOrDefault(o) + 1;
                degree[s] = degree.GetValueOrDefault(s) + 1;
            }
            var most = degree.Values.Max();
            var pick = degree.Where(kv => kv.Value == most).Select(kv => kv.Key)
                .OrderBy(n => onRecords.GetValueOrDefault(n)).ThenBy(n => n, keepFirst).Last();
            down.Add(pick);
            left.RemoveAll(l => EqualityComparer<T>.Default.Equals(l.Observer, pick) || EqualityComparer<T>.Default.Equals(l.Subject, pick));
        }
        return down;
    }
}
