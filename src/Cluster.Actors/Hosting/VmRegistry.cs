using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Registry;

namespace Cluster.Actors.Hosting;

/// <summary>
/// The persisted set of the node's VM ids (persistence id <c>vm-registry</c>), a child of the <see cref="VmManager"/>
/// so that a journal fault here stops only this actor, never the manager and the VMs under it. Tells its parent the ids
/// once recovered (<see cref="RegistryLoaded"/>) and answers each <see cref="RegisterVm"/> with
/// <see cref="VmRegisteredHere"/> once it is written or, when a write fails, <see cref="VmRegisterFailed"/> for every
/// registration not yet written (then Akka stops it and the manager starts it again after a back-off).
/// </summary>
public sealed class VmRegistry : ReceivePersistentActor
{
    /// <summary>Its name under the manager (VM ids cannot start with '_').</summary>
    public const string Name = "_registry";

    private readonly int _snapshotEvery;
    private readonly HashSet<string> _ids = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, RegisterVm> _writing = new(StringComparer.Ordinal);

    public VmRegistry(int snapshotEvery)
    {
        _snapshotEvery = snapshotEvery;
        Recover<VmRegistered>(e => _ids.Add(e.VmId));
        Recover<VmUnregistered>(e => _ids.Remove(e.VmId));
        Recover<SnapshotOffer>(o => _ids.UnionWith(((RegistrySnapshot)o.Snapshot).VmIds));
        Recover<RecoveryCompleted>(_ => Context.Parent.Tell(new RegistryLoaded([.. _ids])));

        // Registrations do not wait for each other: the ones that come in while a write is in flight go to the journal together
        // in the next write (PersistAsync), where one at a time made a burst of creates queue here for a write each.
        Command<RegisterVm>(r =>
        {
            _writing[r.VmId] = r;
            PersistAsync(new VmRegistered(r.VmId), e =>
            {
                _writing.Remove(e.VmId);
                _ids.Add(e.VmId);
                MaybeSnapshot();
                Context.Parent.Tell(new VmRegisteredHere(r));
            });
        });
        Command<UnregisterVm>(u =>
        {
            if (!_ids.Contains(u.VmId))
                return;
            Persist(new VmUnregistered(u.VmId), e =>
            {
                _ids.Remove(e.VmId);
                MaybeSnapshot();
            });
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId => "vm-registry";

    public static Props Props(int snapshotEvery) => Akka.Actor.Props.Create(() => new VmRegistry(snapshotEvery));

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "the VM registry's journal write of {0} failed; the registry starts again after a back-off, its VMs run on", @event.GetType().Name);
        // Akka stops this actor next: no registration in flight gets its callback, so each is told (the manager starts the
        // registry again; the failed write's outcome is read then).
        foreach (var r in _writing.Values)
            Context.Parent.Tell(new VmRegisterFailed(r, cause.Message));
        _writing.Clear();
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        OnPersistFailure(cause, @event, sequenceNr);
        Context.Stop(Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null) =>
        _log.Error(reason, "the VM registry's journal cannot be read; trying again after a back-off");

    private void MaybeSnapshot()
    {
        if (LastSequenceNr % _snapshotEvery == 0)
            SaveSnapshot(new RegistrySnapshot([.. _ids]));
    }
}

/// <summary>To the registry: record <paramref name="VmId"/> (for <paramref name="Create"/>, from <paramref name="ReplyTo"/>).</summary>
public sealed record RegisterVm(string VmId, CreateVm Create, IActorRef ReplyTo);

/// <summary>To the registry: forget <paramref name="VmId"/>.</summary>
public sealed record UnregisterVm(string VmId);

/// <summary>From the registry: recovered, with these ids.</summary>
public sealed record RegistryLoaded(IReadOnlyList<string> VmIds);

/// <summary>From the registry: <paramref name="Request"/> is recorded.</summary>
public sealed record VmRegisteredHere(RegisterVm Request);

/// <summary>From the registry: recording <paramref name="Request"/> failed.</summary>
public sealed record VmRegisterFailed(RegisterVm Request, string Reason);
