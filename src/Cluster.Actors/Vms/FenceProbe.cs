using Akka.Actor;
using Akka.Persistence;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Vms;

/// <summary>
/// Reads the events of one persistence id after a sequence number straight from the journal (the
/// same replay the journal serves to recovery) and reports them to its parent as
/// <see cref="NewerEvents"/>, then stops. A VM actor uses it to learn whether another incarnation
/// wrote to its journal meanwhile.
/// </summary>
internal sealed class FenceProbe : ReceiveActor
{
    private readonly List<VmEvent> _events = [];

    public FenceProbe(string persistenceId, long fromSequenceNr)
    {
        Receive<ReplayedMessage>(m =>
        {
            if (m.Persistent.Payload is VmEvent e)
                _events.Add(e);
        });
        Receive<RecoverySuccess>(_ =>
        {
            Context.Parent.Tell(new NewerEvents(_events));
            Context.Stop(Self);
        });
        Receive<ReplayMessagesFailure>(_ => Context.Stop(Self));
        Receive<ReceiveTimeout>(_ => Context.Stop(Self));
        var journal = Akka.Persistence.Persistence.Instance.Apply(Context.System).JournalFor(null);
        journal.Tell(new ReplayMessages(fromSequenceNr, long.MaxValue, 1000, persistenceId, Self));
        Context.SetReceiveTimeout(TimeSpan.FromSeconds(5));
    }

    public static Props Props(string persistenceId, long fromSequenceNr) =>
        Akka.Actor.Props.Create(() => new FenceProbe(persistenceId, fromSequenceNr));
}

/// <summary>Events found in the journal after the asking actor's last sequence number.</summary>
internal sealed record NewerEvents(IReadOnlyList<VmEvent> Events);
