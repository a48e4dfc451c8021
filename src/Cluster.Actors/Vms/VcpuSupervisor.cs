using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Clustering;
using Cluster.Actors.Devices;
using Cluster.Actors.Disks;
using Cluster.Actors.Migration;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Vms;
using Cluster.Vmm;

namespace Cluster.Actors.Vms;

/// <summary>
/// Owns one booted guest (its vCPU threads, through <see cref="IGuestRuntime"/>) for the time of one
/// boot. The vCPUs never run on a dispatcher thread: this actor drives them by messages (pause, resume,
/// stop, save state) and turns the guest's exit (clean exit, shutdown/triple fault, internal error) into a
/// <see cref="GuestExited"/> for its VM actor, then stops. A new boot gets a new supervisor.
/// A supervisor may also adopt a guest that arrived running by live migration (a <see cref="ParkedGuest"/>):
/// no boot, the vCPUs go on where they are. For a migration away it streams its guest (<see cref="MigrateGuestOut"/>,
/// <see cref="MigrationRun"/>, which asks the migration's source actor for the commit, <see cref="CommitRequested"/>; this actor
/// holds the page stream's wait until <see cref="CommitWritten"/> or <see cref="CommitRefused"/>) and, once
/// ownership moved, is released (<see cref="ReleaseGuest"/>): the source guest's stop is then not a guest exit.
/// Before a boot it checks the VM's disks on this host (<see cref="DiskIdentity.Bind"/>): each image exists and carries the
/// identity the VM recorded; on the VM's first start it tells its VM actor the identities it found (<see cref="DisksBound"/>).
/// </summary>
public sealed class VcpuSupervisor : ReceiveActor
{
    private readonly VmSpec _spec;
    private readonly IGuestRuntimeFactory _factory;
    private readonly IActorRef _console;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly VmHosting? _hosting;
    private readonly ParkedGuest? _adopted;
    private IGuestRuntime? _guest;
    private bool _running;
    private bool _released;
    private Task? _migrating;
    private CancellationTokenSource? _migrationCancel;
    private CommitSlot? _commitSlot;
    private readonly Dictionary<string, TaskCompletionSource> _commits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IActorRef> _resolvers = new(StringComparer.Ordinal);

    /// <summary>The migration whose commit this supervisor learnt from the journal before the VM actor's notice (CommitWritten) came.</summary>
    private string? _committedByJournal;

    private readonly long _epoch;

    public VcpuSupervisor(VmSpec spec, IGuestRuntimeFactory factory, IActorRef console, VmHosting? hosting = null, ParkedGuest? adopted = null,
        long epoch = 0)
    {
        _epoch = epoch;
        _spec = spec;
        _factory = factory;
        _console = console;
        _hosting = hosting;
        _adopted = adopted;
        Receive<PauseVcpus>(_ =>
        {
            Try("pause", () => _guest?.Pause());
            MarkEnded();
        });
        Receive<PermitLapsedNotice>(_ =>
        {
            _log.Warning("VM {0}: the guest's run permit lapsed; its VMM paused it", _spec.Id);
            MarkEnded();
            Context.Parent.Tell(new GuestPermitLapsed(Self));
        });
        Receive<ResumeAfterLapse>(_ =>
        {
            MarkRunning();
            Try("resume after the lapsed permit", () => _guest?.ResumeAfterLapse());
        });
        Receive<ResumeVcpus>(_ =>
        {
            MarkRunning();
            Try("resume", () => _guest?.Resume());
        });
        Receive<SaveVcpuState>(_ =>
        {
            try
            {
                Sender.Tell(_guest is null
                    ? new Status.Failure(new VmmException("no guest to save", "machine-save"))
                    : new VcpuStateSaved(_guest.SaveState()));
            }
            catch (VmmException e)
            {
                Sender.Tell(new Status.Failure(e));
            }
        });
        Receive<StopVcpus>(stop =>
        {
            if (stop.Graceful)
                Try("pause before stopping", () => _guest?.Pause());
            Context.Stop(Self);
        });
        // Typed input, forwarded by the console while this supervisor is its sink: a guest that ended meanwhile drops it.
        Receive<Cluster.Contracts.Commands.ConsoleInput>(input =>
        {
            try
            {
                _guest?.SendSerialInput(input.Data);
            }
            catch (Exception e) when (e is VmmException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                _log.Warning("VM {0}: cannot type into the guest: {1}", _spec.Id, e.Message);
            }
        });
        Receive<MigrateGuestOut>(StartMigration);
        Receive<CancelGuestMigration>(_ => _migrationCancel?.Cancel());
        // The page stream tells the requester (CommitRequested) itself, after this: CommitWritten or CommitRefused come after it.
        Receive<RunCommitRequested>(r => _commits[r.MigrationId] = r.Written);
        // Outcome unknown: the journal answers (the VM actor's CommitWritten or CommitRefused may still come first).
        Receive<CommitOutcomeUnknown>(u =>
        {
            if (_commits.TryGetValue(u.MigrationId, out var written) && !written.Task.IsCompleted)
                _resolvers[u.MigrationId] = Resolve(u.MigrationId, written, Self);
        });
        Receive<CommitResolved>(r =>
        {
            _resolvers.Remove(r.MigrationId);
            if (!_commits.Remove(r.MigrationId, out var written))
                return;
            if (r.Committed)
            {
                // The journal gave the guest to the target: its coming stop (by the page stream) is no guest exit.
                _committedByJournal = r.MigrationId;
                _released = true;
                _running = false;
                written.TrySetResult();
            }
            else
                written.TrySetException(CommitOutcomes.NotCommitted(r.MigrationId));
        });
        Receive<CommitWritten>(w =>
        {
            StopResolver(w.MigrationId);
            if (_commits.Remove(w.MigrationId, out var written) && written.TrySetResult())
                return;
            // The journal told it first: the stream goes on to Resume the target and stop the guest here.
            if (w.MigrationId == _committedByJournal)
                return;
            // The stream gave up waiting and resumed the guest here, but the journal gives the VM to the target now.
            _log.Warning("VM {0}: ownership moved after the migration gave up waiting for it; stopping the guest here", _spec.Id);
            _released = true;
            Context.Stop(Self);
        });
        Receive<CommitRefused>(r =>
        {
            StopResolver(r.MigrationId);
            if (_commits.Remove(r.MigrationId, out var written))
                written.TrySetException(new OperationCanceledException(r.Reason));
        });
        Receive<MigrationEnded>(e =>
        {
            _migrating = null;
            _migrationCancel?.Dispose();
            _migrationCancel = null;
            _commitSlot = null;
            _commits.Clear();
            foreach (var id in _resolvers.Keys.ToList())
                StopResolver(id);
        });
        Receive<ReleaseGuest>(_ =>
        {
            _released = true;
            _running = false;
        });
        Receive<GuestExit>(exit =>
        {
            if (_released)
            {
                Context.Stop(Self);
                return;
            }
            _log.Info("VM {0} guest ended: {1}", _spec.Id, exit.Reason);
            Context.Parent.Tell(new GuestExited(exit, Self));
            Context.Stop(Self);
        });
    }

    /// <summary>
    /// The dispatcher every supervisor runs on (hocon/base.conf): threads of their own (a <c>ForkJoinDispatcher</c>, 32 threads
    /// shared by the node's supervisors; a thread per supervisor, <c>PinnedDispatcher</c>, made one on the StartVm path). A supervisor's
    /// calls to its guest block (a worker's socket round trip; a worker started on the spot when the warm pool is empty), and
    /// on Akka's default dispatcher, the .NET thread pool of a 2-core host, a burst of boots held its few threads: the journal
    /// and every other actor queued behind them while the pool injected threads (30 threads, 59 items queued in a 30-VM burst).
    /// </summary>
    public const string DispatcherId = "cluster-hypervisor.vcpu-supervisor-dispatcher";

    public static Props Props(VmSpec spec, IGuestRuntimeFactory factory, IActorRef console, VmHosting? hosting = null, long epoch = 0) =>
        Akka.Actor.Props.Create(() => new VcpuSupervisor(spec, factory, console, hosting, null, epoch)).WithDispatcher(DispatcherId);

    /// <summary>A supervisor that adopts <paramref name="parked"/>, a guest already running here (its run was logged when it resumed).</summary>
    public static Props Adopt(VmSpec spec, ParkedGuest parked, IGuestRuntimeFactory factory, IActorRef console, VmHosting? hosting) =>
        Akka.Actor.Props.Create(() => new VcpuSupervisor(spec, factory, console, hosting, parked, 0)).WithDispatcher(DispatcherId);

    private void StartMigration(MigrateGuestOut order)
    {
        if (_guest is null || _migrating is not null || !System.Net.IPAddress.TryParse(order.Address, out var address))
        {
            Sender.Tell(new MigrationEnded(order.MigrationId, new Cluster.Vmm.Migration.MigrationResult
            {
                FailureReason = _guest is null ? "the guest is not running" : _migrating is not null ? "another migration runs" : $"'{order.Address}' is not an IP address",
            }));
            return;
        }
        _migrationCancel = new CancellationTokenSource();
        _commitSlot = new CommitSlot();
        _migrating = MigrationRun.Start(_spec.Id, order, _guest, new System.Net.IPEndPoint(address, order.Port), Self, Sender, _hosting?.RunLog,
            _hosting?.Migration ?? MigrationSettings.Default, _migrationCancel.Token, Context.System, _commitSlot);
    }

    /// <summary>
    /// Has the VM's journal answer the commit of <paramref name="migrationId"/>, which the page stream waits for on
    /// <paramref name="written"/>: the answer goes to <paramref name="notify"/> (this supervisor, <see cref="CommitResolved"/>), or,
    /// without one (this supervisor stopped), completes the wait itself: committed, the stream sends Resume and stops the guest
    /// here; not committed, it aborts (the guest, stopped with this supervisor, stays stopped). The resolver is not this
    /// actor's child: it outlives this supervisor when the VM actor stops on a journal fault.
    /// </summary>
    private IActorRef Resolve(string migrationId, TaskCompletionSource written, IActorRef? notify)
    {
        var settings = _hosting?.Migration ?? MigrationSettings.Default;
        return notify is null
            ? CommitOutcomes.ResolveInto(Context.System, _spec.Id, migrationId, settings.CommitReadInterval, written)
            : CommitOutcomes.Resolve(Context.System, _spec.Id, migrationId, settings.CommitReadInterval,
                committed => notify.Tell(new CommitResolved(migrationId, committed)));
    }

    private void StopResolver(string migrationId)
    {
        if (_resolvers.Remove(migrationId, out var resolver))
            Context.System.Stop(resolver);
    }

    /// <summary>Tells the host's agent that the guest runs here (its guest time is read from <see cref="GuestClocks"/>).</summary>
    private void Booted()
    {
        if (_hosting is not null && _guest is not null)
            _hosting.Agent.Tell(new GuestBooted(_spec.Id, GuestClocks.Get(Context.System).Register(_spec.Id, _guest)));
    }

    /// <summary>Tells the host's agent that <paramref name="guest"/> no longer runs here.</summary>
    private void Ended(IGuestRuntime guest)
    {
        if (_hosting is not null && GuestClocks.Get(Context.System).Forget(_spec.Id, guest) is { } run)
            _hosting.Agent.Tell(new GuestEnded(_spec.Id, run));
    }

    /// <summary>Logs the start of a run interval (before the vCPUs may run).</summary>
    private void MarkRunning()
    {
        if (_running || _guest is null)
            return;
        _running = true;
        _hosting?.RunLog?.Start(_spec.Id);
    }

    /// <summary>Logs the end of a run interval (after the vCPUs stopped running).</summary>
    private void MarkEnded()
    {
        if (!_running)
            return;
        _running = false;
        _hosting?.RunLog?.End(_spec.Id);
    }

    /// <summary>
    /// Runs a vCPU request; a <see cref="VmmException"/> means the guest ended meanwhile (its exit
    /// message is on the way), so it is logged, not thrown.
    /// </summary>
    private void Try(string what, Action action)
    {
        try
        {
            action();
        }
        catch (VmmException e)
        {
            _log.Warning("VM {0}: cannot {1}: {2}", _spec.Id, what, e.Message);
        }
    }

    protected override void PreStart()
    {
        if (_adopted is not null)
        {
            _guest = _adopted.Guest;
            _running = true;
            var self = Self;
            var console = _console;
            _adopted.Attach(bytes => console.Tell(new SerialChunk(bytes)), exit => self.Tell(exit));
            _guest.PermitLapsed += () => self.Tell(PermitLapsedNotice.Instance);
            Booted();
            _console.Tell(new GuestInputSink(Self, Accepting: true));
            return;
        }
        if (_spec.Disks.Count > 0)
        {
            // The disks must be the files the VM started on first: a missing image or a namesake ends the boot here.
            if (DiskIdentity.Bind(_spec.Disks, "this host", out var problem) is not { } identities)
            {
                Context.Parent.Tell(new GuestBootFailed(problem!, Self));
                Context.Stop(Self);
                return;
            }
            if (_spec.Disks.Any(d => d.Identity is null))
                Context.Parent.Tell(new DisksBound(identities, Self));
        }
        try
        {
            _guest = _factory.Create(_spec, _epoch);
            var self = Self;
            var console = _console;
            _guest.SerialOutput += bytes => console.Tell(new SerialChunk(bytes));
            _guest.Exited += exit => self.Tell(exit);
            _guest.PermitLapsed += () => self.Tell(PermitLapsedNotice.Instance);
            MarkRunning();
            _guest.Start();
            Booted();
            _console.Tell(new GuestInputSink(Self, Accepting: true));
        }
        catch (VmmException e)
        {
            Context.Parent.Tell(new GuestBootFailed(e.Message, Self));
            Context.Stop(Self);
        }
    }

    protected override void PostStop()
    {
        _console.Tell(new GuestInputSink(Self, Accepting: false));
        if (_guest is null)
            return;
        // The VM actor stopped on a journal fault: the guest keeps running, held for the VM's next incarnation.
        if (_migrating is null && !_released && HeldGuests.Get(Context.System).TryHold(_spec.Id, _guest))
        {
            _log.Warning("VM {0}: the journal failed; the guest keeps running, held until the VM's journal reads again", _spec.Id);
            _guest = null;
            return;
        }
        // The node shuts down: a guest that can outlive it (in its VMM worker) goes on running for the next incarnation.
        if (_migrating is null && !_released && CoordinatedShutdown.Get(Context.System).ShutdownReason is not null)
        {
            var guest0 = _guest;
            _guest = null;
            if (guest0.Detach())
            {
                _log.Info("VM {0}: the node shuts down; its guest keeps running in its VMM worker", _spec.Id);
                return;
            }
            MarkEnded();
            Ended(guest0);
            return;
        }
        _guest.Stop();
        MarkEnded();
        Ended(_guest);
        var guest = _guest;
        _guest = null;
        // A running page stream still reads the guest's memory: it is cancelled and the guest freed once it ended. A commit
        // it waits for is not refused: its outcome is unknown (the VM actor stopped, maybe on the commit's own write), so the
        // journal answers it, and the stream, not cancelled, then sends Resume to the target or aborts.
        var pending = _commits.Where(c => !c.Value.Task.IsCompleted).ToList();
        // A wait whose RunCommitRequested this supervisor never got (the stop came first): the slot holds it.
        if (_commitSlot?.Close() is { } unseen && !_commits.ContainsKey(unseen.MigrationId))
            pending.Add(new KeyValuePair<string, TaskCompletionSource>(unseen.MigrationId, unseen.Written));
        foreach (var id in _resolvers.Keys.ToList())
            StopResolver(id);
        foreach (var (id, written) in pending)
            Resolve(id, written, notify: null);
        if (pending.Count == 0)
            _migrationCancel?.Cancel();
        if (_migrating is { IsCompleted: false } migrating)
            migrating.ContinueWith(_ => guest.Dispose(), TaskScheduler.Default);
        else
            guest.Dispose();
    }

    /// <summary>The guest's runtime said its permit lapsed (raised on the runtime's thread, posted to this actor).</summary>
    private sealed class PermitLapsedNotice
    {
        public static PermitLapsedNotice Instance { get; } = new();
    }
}
