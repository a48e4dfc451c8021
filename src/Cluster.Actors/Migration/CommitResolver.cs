using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Access;

namespace Cluster.Actors.Migration;

/// <summary>
/// The "outcome unknown" state of one side of a migration: reads the VM's journal (<c>vm-{id}</c>, the replay recovery uses,
/// through <see cref="JournalTail"/>) every <c>interval</c> until it records the migration's outcome
/// (<see cref="CommitOutcomes.Of"/>), calls back with it (true: committed) and stops. A read that fails or finds neither
/// is tried again; the caller keeps its copy of the guest paused meanwhile. It is not a child of the side's actors: it
/// must outlive a VM actor stopped by the very journal fault that made the outcome unknown.
/// </summary>
public sealed class CommitResolver : ReceiveActor, IWithTimers
{
    private readonly string _vmId;
    private readonly string _migrationId;
    private readonly TimeSpan _interval;
    private readonly Action<bool> _resolved;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<object> _events = [];
    private long _readUpTo;
    private int _reads;

    public CommitResolver(string vmId, string migrationId, TimeSpan interval, Action<bool> resolved)
    {
        _vmId = vmId;
        _migrationId = migrationId;
        _interval = interval;
        _resolved = resolved;
        Receive<JournalRead>(OnRead);
        Receive<ReadAgain>(_ => Read());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Resolves migration <paramref name="migrationId"/> of VM <paramref name="vmId"/> from its journal, reading every
    /// <paramref name="interval"/>; <paramref name="resolved"/> is called once, on this actor's thread, with true when it committed.
    /// </summary>
    public static Props Props(string vmId, string migrationId, TimeSpan interval, Action<bool> resolved) =>
        Akka.Actor.Props.Create(() => new CommitResolver(vmId, migrationId, interval, resolved));

    protected override void PreStart()
    {
        _log.Info("VM {0}: the commit of migration {1} is unknown here; asking the journal", _vmId, _migrationId);
        Read();
    }

    private void Read() => Context.ActorOf(JournalTail.Props($"vm-{_vmId}", _readUpTo));

    private void OnRead(JournalRead read)
    {
        _reads++;
        foreach (var (sequenceNr, payload) in read.Events)
        {
            _events.Add(payload);
            _readUpTo = Math.Max(_readUpTo, sequenceNr);
        }
        var outcome = read.Failed is null ? CommitOutcomes.Of(_events, _migrationId) : CommitOutcome.Unknown;
        if (outcome == CommitOutcome.Unknown)
        {
            if (read.Failed is not null)
                _log.Warning("VM {0}: migration {1}: the journal could not be read ({2}); trying again", _vmId, _migrationId, read.Failed);
            Timers.StartSingleTimer(ReadAgain.Instance, ReadAgain.Instance, _interval);
            return;
        }
        _log.Info("VM {0}: the journal says migration {1} {2} (after {3} reads)", _vmId, _migrationId,
            outcome == CommitOutcome.Committed ? "committed" : "did not commit", _reads);
        _resolved(outcome == CommitOutcome.Committed);
        Context.Stop(Self);
    }

    private sealed class ReadAgain
    {
        public static ReadAgain Instance { get; } = new();
    }
}
