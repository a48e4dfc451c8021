using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Contracts.Access;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Access;

/// <summary>
/// The cluster's audit log (a cluster singleton; a plain actor on a standalone node): persists every
/// <see cref="AuditRecord"/> the nodes' access gates send under persistence id <see cref="Name"/> and answers
/// <see cref="ListAudit"/> from the last <see cref="Kept"/> records, which a snapshot every <see cref="SnapshotEvery"/>
/// records keeps recovery short. Older records stay in the journal.
/// </summary>
public sealed class AuditLog : ReceivePersistentActor
{
    /// <summary>The actor (and singleton) name, also its persistence id.</summary>
    public const string Name = "audit";

    /// <summary>How many records <see cref="ListAudit"/> can return.</summary>
    public const int Kept = 500;

    private const int SnapshotEvery = 250;

    private readonly LinkedList<AuditRecord> _records = new();

    public AuditLog()
    {
        var log = Context.GetLogger();
        Recover<AuditRecord>(Keep);
        Recover<SnapshotOffer>(o =>
        {
            foreach (var r in ((AuditSnapshot)o.Snapshot).Records)
                Keep(r);
        });
        Command<AuditRecord>(r => Persist(r, e =>
        {
            Keep(e);
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(new AuditSnapshot([.. _records]));
        }));
        Command<ListAudit>(l =>
        {
            if (l.Limit is < 1 or > Kept)
                Sender.Tell(new ValidationFailed("limit", $"{l.Limit} is outside 1..{Kept}"));
            else
                Sender.Tell(new AuditList([.. _records.Skip(Math.Max(0, _records.Count - l.Limit))]));
        });
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => log.Warning("audit log: snapshot failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => log.Warning("audit log: deleting old snapshots failed: {0}", f.Cause.Message));
    }

    public override string PersistenceId => Name;

    public static Props Props() => Akka.Actor.Props.Create(() => new AuditLog());

    private void Keep(AuditRecord record)
    {
        _records.AddLast(record);
        if (_records.Count > Kept)
            _records.RemoveFirst();
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Context.GetLogger().Error(cause, "audit log: recording {0} failed", @event);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
