using Akka.Actor;
using Akka.Persistence;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Vms;

/// <summary>
/// Reads the events of one persistence id after a sequence number straight from the journal (the
/// same replay the journal serves to recovery) and reports them to its parent as
/// <see cref="NewerEvents"/>, then stops; a read that fails or times out is reported as <see cref="OwnershipUnconfirmed"/>.
/// A VM actor uses it to learn whether another incarnation wrote to its journal meanwhile.
/// </summary>
internal sealed class FenceProbe : ReceiveActor
{
    /// <summary>How long a read may take before it counts as failed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

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
        // A read that fails or does not answer cannot confirm ownership: the parent pauses the guest until one does.
        Receive<ReplayMessagesFailure>(f =>
        {
            Context.Parent.Tell(new OwnershipUnconfirmed($"the journal read failed: {f.Cause.Message}"));
            Context.Stop(Self);
        });
        Receive<ReceiveTimeout>(_ =>
        {
            Context.Parent.Tell(new OwnershipUnconfirmed($"the journal did not answer within {Timeout.TotalSeconds:0} s"));
            Context.Stop(Self);
        });
        var journal = Akka.Persistence.Persistence.Instance.Apply(Context.System).JournalFor(null);
        journal.Tell(new ReplayMessages(fromSequenceNr, long.MaxValue, 1000, persistenceId, Self));
        Context.SetReceiveTimeout(Timeout);
    }

    public static Props Props(string persistenceId, long fromSequenceNr) =>
        Akka.Actor.Props.Create(() => new FenceProbe(persistenceId, fromSequenceNr));
}

/// <summary>Events found in the journal after the asking actor's last sequence number.</summary>
internal sealed record NewerEvents(IReadOnlyList<VmEvent> Events);

/// <summary>A journal read could not confirm that this incarnation still owns the VM (it failed or did not answer in time).</summary>
internal sealed record OwnershipUnconfirmed(string Reason);
