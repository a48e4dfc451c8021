using Akka.Actor;
using Akka.Persistence;

namespace Cluster.Actors.Access;

/// <summary>
/// Reads the events of one persistence id after a sequence number straight from the journal (the replay recovery
/// uses), reports them to its parent as <see cref="JournalRead"/> and stops; a failed or timed-out read reports
/// <see cref="JournalRead.Failed"/>. Lets a node follow a log that another node's actor writes.
/// </summary>
internal sealed class JournalTail : ReceiveActor
{
    private readonly List<(long, object)> _events = [];

    public JournalTail(string persistenceId, long afterSequenceNr)
    {
        Receive<ReplayedMessage>(m => _events.Add((m.Persistent.SequenceNr, m.Persistent.Payload)));
        Receive<RecoverySuccess>(_ => Done(new JournalRead(_events, null)));
        Receive<ReplayMessagesFailure>(f => Done(new JournalRead([], f.Cause.Message)));
        Receive<ReceiveTimeout>(_ => Done(new JournalRead([], "no answer from the journal within 5 s")));
        var journal = Akka.Persistence.Persistence.Instance.Apply(Context.System).JournalFor(null);
        journal.Tell(new ReplayMessages(afterSequenceNr + 1, long.MaxValue, long.MaxValue, persistenceId, Self));
        Context.SetReceiveTimeout(TimeSpan.FromSeconds(5));
    }

    public static Props Props(string persistenceId, long afterSequenceNr) =>
        Akka.Actor.Props.Create(() => new JournalTail(persistenceId, afterSequenceNr));

    private void Done(JournalRead read)
    {
        Context.Parent.Tell(read);
        Context.Stop(Self);
    }
}

/// <summary>Events read from the journal with their sequence numbers, or why the read failed.</summary>
internal sealed record JournalRead(IReadOnlyList<(long SequenceNr, object Payload)> Events, string? Failed);
