using System.Data.Common;
using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Leases;
using Cluster.Contracts.Migration;

namespace Cluster.Actors.Vms;

/// <summary>
/// A failover claim's wait (a child of the VM actor about to claim a VM whose owner was another host): reads the old owner's
/// host lease (<c>host:OWNER</c>) and tells its parent <see cref="OwnerLeaseGone"/> once the row is absent or expired by the
/// database's clock, or held by an incarnation that is an Up member of the cluster now and has released the VM: such a host
/// renews its lease, so the wait asks it (<see cref="ReleaseClaimedVm"/> to its migration receiver) to stop whatever of the VM it
/// still runs outside a VM actor (a migrated guest parked for an actor that now starts here, a guest held through a journal
/// fault) and goes ahead once it answers that nothing of the VM runs there (<see cref="ClaimedVmReleased"/>). Meanwhile it reads
/// again when the row should have run out (at most every second), and logs the wait. A read that fails is tried again after
/// half a second: nothing is claimed without it.
/// </summary>
internal sealed class OwnerLeaseWait : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReadAtMost = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReleaseAnswerWithin = TimeSpan.FromSeconds(2);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LeaseStore _store;
    private readonly string _vmId;
    private readonly string _owner;
    private readonly string _name;
    private readonly long _started = Environment.TickCount64;
    private bool _logged;
    private string? _notReleased;
    private int _asked;

    public OwnerLeaseWait(LeaseStore store, string vmId, string owner, long epoch, string claimer)
    {
        _store = store;
        _vmId = vmId;
        _owner = owner;
        _name = HostLeases.LeaseName(owner);
        Receive<ReadNow>(_ => Read());
        Receive<ClaimedVmReleased>(r =>
        {
            if (r.VmId != _vmId)
                return;
            if (r.Released)
            {
                _log.Info("VM {0}: the old owner {1}, an Up member, released the VM ({2}) after a {3} ms wait; claiming it", _vmId, _owner,
                    r.Detail, Environment.TickCount64 - _started);
                Context.Parent.Tell(new OwnerLeaseGone(_owner));
                Context.Stop(Self);
                return;
            }
            if (_notReleased != r.Detail)
                _log.Warning("VM {0}: the old owner {1}, an Up member, still runs the VM ({2}); waiting", _vmId, _owner, r.Detail);
            _notReleased = r.Detail;
            Timers.StartSingleTimer("read", ReadNow.Instance, RetryAfter);
        });
        Receive<Row>(r =>
        {
            if (r.Lease is { Unexpired: true } held && UpMember(held.Owner) is { } address)
            {
                // A live host renews its lease: it is asked to release the VM instead, and read again if it does not answer.
                if (_asked++ % 5 == 0)
                    _log.Info("VM {0}: asking the old owner {1} (an Up member, {2}) to release the VM before claiming it ({3} times so far)",
                        _vmId, _owner, address, _asked);
                Context.ActorSelection(new RootActorPath(address) / "user" / Migration.MigrationReceiver.Name).Tell(new ReleaseClaimedVm(_vmId, epoch, claimer));
                Timers.StartSingleTimer("read", ReadNow.Instance, ReleaseAnswerWithin);
                return;
            }
            if (r.Lease is not { Unexpired: true } lease)
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

    /// <summary>The wait of <paramref name="claimer"/>'s VM actor for <paramref name="vmId"/>, whose journal says epoch
    /// <paramref name="epoch"/> and owner <paramref name="owner"/>.</summary>
    public static Props Props(LeaseStore store, string vmId, string owner, long epoch, string claimer) =>
        Akka.Actor.Props.Create(() => new OwnerLeaseWait(store, vmId, owner, epoch, claimer));

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

    /// <summary>The address of the lease's owner ("HOST#UID") when that incarnation is an Up member of this cluster now, else null.</summary>
    private Address? UpMember(string owner)
    {
        if (((ExtendedActorSystem)Context.System).Provider is not Akka.Cluster.ClusterActorRefProvider)
            return null;
        var hash = owner.LastIndexOf('#');
        if (hash < 0 || !long.TryParse(owner.AsSpan(hash + 1), out var uid))
            return null;
        return Akka.Cluster.Cluster.Get(Context.System).State.Members
            .FirstOrDefault(m => m.UniqueAddress.Uid == uid && m.Status == Akka.Cluster.MemberStatus.Up)?.Address;
    }

    private sealed class ReadNow
    {
        public static ReadNow Instance { get; } = new();
    }

    private sealed record Row(LeaseRow? Lease);

    private sealed record ReadFailed(string Reason);
}

/// <summary>The old owner's host lease no longer holds (or its holder, an Up member, released the VM): the failover claim may go ahead.</summary>
internal sealed record OwnerLeaseGone(string Owner);
