using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace Cluster.Actors.Downing;

/// <summary>
/// The cluster's downing actor (started by Akka through <see cref="LinkAwareDowningProvider"/> on every node): runs Akka's
/// split brain resolver as its child, unchanged, and resolves broken links between members ahead of it.
/// <para>
/// It follows the unreachability records; once a broken link between two members that both still reach the rest
/// (<see cref="LinkFailures"/>) has been seen for <c>decide-after</c> (kept across flaps for <c>forget-after</c>) and the
/// records have not changed for <c>settle</c>, a leader downs one end of each broken link. That is before the resolver's
/// stable-after: the downed member resets the resolver's timer and is removed, its records with it, so the resolver never
/// sees the link and does not down every indirectly connected member (both ends) or, on a flapping link, everyone.
/// Clean partitions and crashes make no broken links and are left to the resolver (keep-majority) as before.
/// </para>
/// </summary>
public sealed class LinkAwareDowning : ReceiveActor, IWithTimers
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Props _resolver;
    private readonly LinkDowningSettings _settings;
    private IReadOnlyList<(UniqueAddress Observer, UniqueAddress Subject)> _records = [];
    private DateTime _changedAt = DateTime.UtcNow;
    private DateTime? _brokenSince;
    private DateTime _brokenLastSeen;

    public LinkAwareDowning(Props resolver, LinkDowningSettings settings)
    {
        _resolver = resolver;
        _settings = settings;
        Receive<Tick>(_ => Check());
        ReceiveAny(message =>
        {
            if (!ReachabilityRecords.TryRead(message, out var records))
                return;
            if (records.ToHashSet().SetEquals(_records))
                return;
            _records = records;
            _changedAt = DateTime.UtcNow;
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Props resolver, LinkDowningSettings settings) =>
        Akka.Actor.Props.Create(() => new LinkAwareDowning(resolver, settings));

    protected override void PreStart()
    {
        Context.ActorOf(_resolver, "sbr");
        if (!_settings.Enabled)
            return;
        if (ReachabilityRecords.Event is not { } reachabilityChanged)
        {
            _log.Error("link-aware downing is off: this Akka version's reachability records cannot be read; " +
                       "a broken link between two hosts is left to the split brain resolver, which downs both ends");
            return;
        }
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, reachabilityChanged);
        Timers.StartPeriodicTimer("check", Tick.Instance, TimeSpan.FromMilliseconds(200));
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Check()
    {
        var now = DateTime.UtcNow;
        var state = _cluster.State;
        var live = state.Members.Where(m => m.Status is not (MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed))
            .ToDictionary(m => m.UniqueAddress);
        var records = _records.Where(r => live.ContainsKey(r.Observer) && live.ContainsKey(r.Subject)).ToList();
        var links = LinkFailures.BrokenLinks(records);
        // A one-way record counts only once the records have held still for decide-after and settle together (no memory
        // across flaps, unlike a broken link): a load hiccup makes such records come and go, and the resolver acts on one
        // only once it held for stable-after.
        var oneWay = now - _changedAt >= _settings.DecideAfter + _settings.Settle
            ? LinkFailures.OneWayLinks(records, _cluster.SelfUniqueAddress)
            : [];
        if (links.Count == 0 && oneWay.Count == 0)
        {
            if (_brokenSince is not null && now - _brokenLastSeen > _settings.ForgetAfter)
                _brokenSince = null;
            return;
        }
        if (links.Count > 0)
        {
            _brokenSince ??= now;
            _brokenLastSeen = now;
        }
        var linksReady = links.Count > 0 && now - _brokenSince >= _settings.DecideAfter && now - _changedAt >= _settings.Settle;
        if (!linksReady && oneWay.Count == 0)
            return;
        // Only a leader decides (with a broken link each side may see itself as the leader); all decide alike.
        if (state.Leader != _cluster.SelfAddress)
            return;
        var keepFirst = Comparer<UniqueAddress>.Create((a, b) =>
            live[a].IsOlderThan(live[b]) ? -1 : live[b].IsOlderThan(live[a]) ? 1 : Member.AddressOrdering.Compare(a.Address, b.Address));
        if (!linksReady)
            links = [];
        var down = LinkFailures.ToDown(links, keepFirst, records).ToList();
        // A one-way record that this member judges (it reaches both ends): its subject goes, unless an end goes already.
        foreach (var (observer, subject) in oneWay)
            if (!down.Contains(observer) && !down.Contains(subject))
                down.Add(subject);
        _log.Warning("link-aware downing: broken links [{0}] seen for {1} ms (unchanged for {2} ms): downing [{3}], one end of each",
            string.Join(", ", links.Concat(oneWay).Select(l => $"{l.Observer.Address} cannot reach {l.Subject.Address}")),
            (int)(now - (_brokenSince ?? _changedAt)).TotalMilliseconds, (int)(now - _changedAt).TotalMilliseconds,
            string.Join(", ", down.Select(d => d.Address)));
        foreach (var node in down)
            _cluster.Down(node.Address);
        _brokenSince = null;
    }

    private sealed class Tick
    {
        public static Tick Instance { get; } = new();
    }
}
