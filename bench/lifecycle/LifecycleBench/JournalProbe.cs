using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;

namespace LifecycleBench;

/// <summary>What one <see cref="JournalProbe"/> measured, in ms: its recovery (a new persistence id), one event persisted,
/// two events persisted in one atomic write.</summary>
public sealed record JournalTimes(double Recovered, double OneEvent, double TwoEvents);

/// <summary>
/// A persistent actor on the node's journal (a new persistence id each) that times what every VM create pays there: the
/// recovery of an id nothing was written to, one <c>Persist</c> and one <c>PersistAll</c> of two events. The events are
/// byte arrays (Akka's own byte-array serializer), about the size of a VM event.
/// </summary>
public sealed class JournalProbe : ReceivePersistentActor
{
    private readonly string _id;
    private readonly long _created = Stopwatch.GetTimestamp();
    private long _recovered;

    public JournalProbe(string id, TaskCompletionSource<JournalTimes> done)
    {
        _id = id;
        Recover<RecoveryCompleted>(_ => _recovered = Stopwatch.GetTimestamp());
        Command<Go>(_ =>
        {
            var before = Stopwatch.GetTimestamp();
            Persist(new byte[300], _ =>
            {
                var one = Stopwatch.GetTimestamp();
                var last = new byte[300];
                PersistAll(new[] { new byte[100], last }, e =>
                {
                    if (!ReferenceEquals(e, last))
                        return;
                    done.TrySetResult(new JournalTimes(Stopwatch.GetElapsedTime(_created, _recovered).TotalMilliseconds,
                        Stopwatch.GetElapsedTime(before, one).TotalMilliseconds, Stopwatch.GetElapsedTime(one).TotalMilliseconds));
                    Context.Stop(Self);
                });
            });
        });
    }

    public override string PersistenceId => "bench-journal-" + _id;

    public static Props Props(string id, TaskCompletionSource<JournalTimes> done) => Akka.Actor.Props.Create(() => new JournalProbe(id, done));

    /// <summary>Starts the writes (sent once the actor exists; it waits for its recovery in the stash).</summary>
    public sealed class Go
    {
        public static Go Instance { get; } = new();
    }
}
