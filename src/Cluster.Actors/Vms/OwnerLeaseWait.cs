using System.Data.Common;
using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Leases;

namespace Cluster.Actors.Vms;

/// <summary>
/// A failover claim's wait (a child of the VM actor about to claim a VM whose owner was another host): reads the old owner's
/// host lease (<c>host:OWNER</c>) and tells its parent <see cref="OwnerLeaseGone"/> once the row is absent or expired by the
/// database's clock, or held by an incarnation that is an Up member of the cluster now (a live host that handed the VM over:
/// its VM actor is gone and epochs fence it). Meanwhile it reads again when the row should have run out (at most every
/// second), and logs the wait. A read that fails is tried again after half a second: nothing is claimed without it.
/// </summary>
internal sealed class OwnerLeaseWait : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReadAtMost = TimeSpan.FromSeconds(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LeaseStore _store;
    private readonly string _vmId;
    private readonly string _owner;
    private readonly string _name;
    private readonly long _started = Environment.TickCount64;
    private bool _logged;

    public OwnerLeaseWait(LeaseStore store, string vmId, string owner)
    {
        _store = store;
        _vmId = vmId;
        _owner = owner;
        _name = HostLeases.LeaseName(owner);
        Receive<ReadNow>(_ => Read());
        Receive<Row>(r =>
        {
            if (r.Lease is not { Unexpired: true } lease || IsUpMember(lease.Owner))
            {
                if (_logged)
                    _log.Info("VM {0}: the old owner's lease {1} ran out after a {2} ms wait; claiming the VM", _vmId, _name,
                        Environment.TickCount64 - _started);
                Context.Parent.Tell(new OwnerLeaseGone(_owner));
                Context.Stop(Self);
                return;
            }
            if (!_logged)
                _log.Warning("VM {0}: failover waits {1} ms for the old owner's lease {2} (held by {3}, not an Up member) to run out " +
                             "by the database's clock", _vmId, lease.RemainingMs, _name, lease.Owner);
            _logged = true;
            var wait = TimeSpan.FromMilliseconds(lease.RemainingMs + 20);
            Timers.StartSingleTimer("read", ReadNow.Instance, wait < ReadAtMost ? wait : ReadAtMost);
        });
        Receive<ReadFailed>(f =>
        {
            _log.Warning("VM {0}: cannot read the old owner's lease {1} ({2}); trying again", _vmId, _name, f.Reason);
            Timers.StartSingleTimer("read", ReadNow.Instance, RetryAfter);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(LeaseStore store, string vmId, string owner) =>
        Akka.Actor.Props.Create(() => new OwnerLeaseWait(store, vmId, owner));

    protected override void PreStart() => Read();

    private void Read() => ReadRow(_store, _name).PipeTo(Self);

    private static async Task<object> ReadRow(LeaseStore store, string name)
    {
        try
        {
            return new Row(await store.ReadAsync(name).ConfigureAwait(false));
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
        {
            return new ReadFailed(e.Message);
        }
    }

    /// <summary>Whether the lease's owner ("HOST#UID") is an incarnation that is an Up member of this cluster now.</summary>
    private bool IsUpMember(string owner)
    {
        if (((ExtendedActorSystem)Context.System).Provider is not Akka.Cluster.ClusterActorRefProvider)
            return false;
        var hash = owner.LastIndexOf('#');
        if (hash < 0 || !long.TryParse(owner.AsSpan(hash + 1), out var uid))
            return false;
        return Akka.Cluster.Cluster.Get(Context.System).State.Members
            .Any(m => m.UniqueAddress.Uid == uid && m.Status == Akka.Cluster.MemberStatus.Up);
    }

    private sealed class ReadNow
    {
        public static ReadNow Instance { get; } = new();
    }

    private sealed record Row(LeaseRow? Lease);

    private sealed record ReadFailed(string Reason);
}

/// <summary>The old owner's host lease no longer holds (or its holder is an Up member): the failover claim may go ahead.</summary>
internal sealed record OwnerLeaseGone(string Owner);
