using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Cluster.Actors.Downing;

namespace Cluster.Actors.Clustering;

/// <summary>
/// One per node: when this node cannot reach a majority of the cluster's members for longer than
/// <c>pause-after</c> (shorter than the split brain resolver's stable-after), it fence-pauses every
/// local VM through the host agent, so the guests are stopped before the majority downs this side and
/// restarts them elsewhere. If the majority comes back first, the VMs resume.
/// <para>
/// Unreachable means unreachable <em>from this node</em> (the reachability records it observed itself), not in the
/// cluster's merged view: a link broken between two other hosts marks both unreachable in everyone's merged view, and
/// counting those made the one host that still reached both pause its guests as if it were cut off. Where the records
/// cannot be read (<see cref="ReachabilityRecords.Available"/>), the merged view is used as before.
/// </para>
/// </summary>
public sealed class MinorityGuard : ReceiveActor, IWithTimers
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "minority-guard";

    private readonly IActorRef _agent;
    private readonly TimeSpan _pauseAfter;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private DateTime? _minoritySince;
    private bool _paused;
    private HashSet<UniqueAddress>? _unreachableFromHere;

    public MinorityGuard(IActorRef agent, TimeSpan pauseAfter)
    {
        _agent = agent;
        _pauseAfter = pauseAfter;
        Receive<Tick>(_ => Check());
        ReceiveAny(message =>
        {
            if (ReachabilityRecords.TryRead(message, out var records))
            {
                var self = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress;
                _unreachableFromHere = records.Where(r => r.Observer.Equals(self)).Select(r => r.Subject).ToHashSet();
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef agent, TimeSpan pauseAfter) => Akka.Actor.Props.Create(() => new MinorityGuard(agent, pauseAfter));

    /// <summary>True when <paramref name="reachable"/> of <paramref name="members"/> (self included) is not a strict majority.</summary>
    public static bool InMinority(int members, int reachable) => members > 1 && reachable * 2 <= members;

    protected override void PreStart()
    {
        if (ReachabilityRecords.Event is { } reachabilityChanged)
        {
            _unreachableFromHere = [];
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, reachabilityChanged);
        }
        Timers.StartPeriodicTimer("check", Tick.Instance, TimeSpan.FromMilliseconds(100));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    private void Check()
    {
        var state = Akka.Cluster.Cluster.Get(Context.System).State;
        var members = state.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.WeaklyUp).ToList();
        var unreachable = _unreachableFromHere is { } fromHere
            ? members.Count(m => fromHere.Contains(m.UniqueAddress))
            : state.Unreachable.Count(u => members.Contains(u));
        var minority = InMinority(members.Count, members.Count - unreachable);
        var now = DateTime.UtcNow;
        if (!minority)
        {
            _minoritySince = null;
            if (_paused)
            {
                _log.Warning("majority reachable again: resuming fence-paused VMs");
                _agent.Tell(FenceResume.Instance);
                _paused = false;
            }
            return;
        }
        _minoritySince ??= now;
        if (!_paused && now - _minoritySince >= _pauseAfter)
        {
            _log.Warning("{0} of {1} members unreachable for {2} ms: this node is in a minority, pausing its VMs",
                unreachable, members.Count, (int)(now - _minoritySince.Value).TotalMilliseconds);
            _agent.Tell(FencePause.Instance);
            _paused = true;
        }
    }

    private sealed class Tick
    {
        public static Tick Instance { get; } = new();
    }
}
