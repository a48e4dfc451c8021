using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Cluster.Actors.Clustering;
using Cluster.Actors.Disks;
using Cluster.Actors.Placement;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts.Migration;
using Cluster.Vmm;

namespace Cluster.Actors.Migration;

/// <summary>
/// The target side of live migration on one host (at <see cref="Path"/>). Actor-level protocol, version
/// <see cref="ProtocolVersion"/> (control on Akka messages, pages on a dedicated TCP socket, never Akka.Remote):
/// <code>
///   source VmActor + its MigrationSourceActor (host A)  Scheduler  MigrationReceiver (host B)
///     | persist VmMigrationStarted       |                              |
///     | ReserveMigrationTarget --------> | Placer on B; decision := B   |
///     | &lt;--------- PlacementDecided | PlacementRefused                  |
///     | PrepareIncoming(version, id, spec, A, epoch) -----------------&gt; | version, fit (capacity, labels,
///     |                                                                  |  anti-affinity, disks seen here
///     |                                                                  |  with their identities), concurrency;
///     |                                                                  |  listen on bind-host:port;
///     |                                                                  |  IGuestRuntimeFactory.ListenIncoming
///     | &lt;-------------------------------- IncomingReady(addr, port) | IncomingRefused(reason)
///     | MigrateGuestOut -&gt; VcpuSupervisor: IGuestRuntime.MigrateOutAsync == pages (TCP) ==&gt; |
///     |   [pause: stop-and-copy]                                         |
///     | IncomingConsole(history) ---------------------------------------&gt; | seeds the console on B
///     | persist VmMigrated(A, B, epoch+1)   (commit point: the journal decides from here)
///     | Resume =========================================================&gt; | machine runs, parked by VM id
///     | persist VmMigrationCompleted; publish VmMoved(A, B)              |
///     | shard hand-off (custom stop message) -&gt; entity starts on B -&gt; adopts the parked machine
///   On failure before the commit: AbortIncoming (or the source's death, or max-duration) cancels the target;
///   the source persists VmMigrationFailed and the VM runs on A.
///   On host A the persists are the VmActor's (it owns the journal); the messages are its MigrationSourceActor's
///   (the sender this receiver watches), see Migration/README.md.
/// </code>
/// States of one incoming migration: prepared (listening) -&gt; receiving -&gt; parked (running, waiting for its VM
/// actor, at most parked-for) -&gt; adopted; or prepared|receiving -&gt; failed (machine disposed, resources freed); or
/// receiving (Ready sent) -&gt; outcome unknown (no Resume, no Abort: the machine paused while a <see cref="CommitResolver"/>
/// reads the VM's journal) -&gt; parked when the journal has the commit, failed when it has the migration's failure.
/// </summary>
public sealed class MigrationReceiver : ReceiveActor, IWithTimers
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "migration-receiver";

    /// <summary>The path on every host.</summary>
    public const string Path = "/user/" + Name;

    /// <summary>The actor-level protocol version a <see cref="PrepareIncoming"/> must carry.</summary>
    public const int ProtocolVersion = 1;

    private readonly IGuestRuntimeFactory _factory;
    private readonly string _host;
    private readonly IActorRef _agent;
    private readonly RunLog? _runLog;
    private readonly PlacementSettings _placement;
    private readonly MigrationSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IncomingMigrations _registry = IncomingMigrations.Get(Context.System);
    private readonly Dictionary<string, Receiving> _active = new(StringComparer.Ordinal);

    public MigrationReceiver(IGuestRuntimeFactory factory, string host, IActorRef agent, RunLog? runLog, PlacementSettings placement,
        MigrationSettings settings)
    {
        _factory = factory;
        _host = host;
        _agent = agent;
        _runLog = runLog;
        _placement = placement;
        _settings = settings;
        Receive<PrepareIncoming>(Prepare);
        Receive<IncomingConsole>(c =>
        {
            if (_registry.Find(c.VmId) is { } incoming && incoming.MigrationId == c.MigrationId)
                incoming.ConsoleHistory = c.History;
        });
        Receive<AbortIncoming>(a => Cancel(a.MigrationId, $"the source abandoned it: {a.Reason}"));
        Receive<IncomingExpired>(e => Cancel(e.MigrationId, $"it ran past {_settings.MaxDuration}"));
        Receive<Terminated>(t =>
        {
            foreach (var (id, r) in _active.Where(a => Equals(a.Value.Source, t.ActorRef)).ToList())
                Cancel(id, "the source went away");
        });
        Receive<IncomingFinished>(Finished);
        Receive<ParkedExpired>(p =>
        {
            if (_registry.Find(p.VmId) is not { } incoming || incoming.MigrationId != p.MigrationId || !_registry.TryRemove(incoming))
                return;
            _log.Warning("VM {0}: no VM actor took the migrated machine within {1}; dropping it", p.VmId, _settings.ParkedFor);
            DropArrived(incoming);
        });
        Receive<ReleaseClaimedVm>(Release);
        Receive<ReleaseAnswer>(a => a.ReplyTo.Tell(a.Answer));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IGuestRuntimeFactory factory, string host, IActorRef agent, RunLog? runLog, PlacementSettings placement,
        MigrationSettings settings) =>
        Akka.Actor.Props.Create(() => new MigrationReceiver(factory, host, agent, runLog, placement, settings));

    /// <summary>Why this host does not take <paramref name="prepare"/>, or null when it does.</summary>
    private string? Refusal(PrepareIncoming prepare)
    {
        if (prepare.ProtocolVersion != ProtocolVersion)
            return $"protocol version {prepare.ProtocolVersion} is not supported (this host speaks {ProtocolVersion})";
        if (_active.Count >= _settings.MaxIncoming)
            return $"this host already receives {_active.Count} migrations (at most {_settings.MaxIncoming})";
        if (_registry.Find(prepare.Spec.Id) is not null || _active.Values.Any(a => a.Incoming.VmId == prepare.Spec.Id))
            return $"VM {prepare.Spec.Id} is already arriving here";
        var views = PlacementBoard.Get(Context.System).Views(_placement.PendingFor, new HashSet<string>(StringComparer.Ordinal) { _host });
        if (views.Count == 0)
            return "this host has not published its capacity yet";
        // The disks as this host sees them now, not as its last status said: the images must be here, the same files.
        var seen = prepare.Spec.Disks.Select(d => DiskIdentity.Look(d.Path)).ToList();
        var placed = Placer.Choose(prepare.Spec, [.. views.Select(v => v.Seeing(seen))], _placement);
        return placed.Placed ? null : $"the VM does not fit this host ({placed.Resource}): {placed.Message}";
    }

    private void Prepare(PrepareIncoming prepare)
    {
        if (Refusal(prepare) is { } why)
        {
            _log.Info("VM {0}: refusing incoming migration {1}: {2}", prepare.Spec.Id, prepare.MigrationId, why);
            Sender.Tell(new IncomingRefused(prepare.MigrationId, why));
            return;
        }
        var incoming = new IncomingMigration(prepare.Spec.Id, prepare.MigrationId, prepare.ExpectedEpoch);
        ParkedGuest? parked = null;
        var runLog = _runLog;
        var vmId = prepare.Spec.Id;
        var id = prepare.MigrationId;
        var cancellation = new CancellationTokenSource();
        IncomingGuest listening;
        try
        {
            listening = _factory.ListenIncoming(prepare.Spec, new IncomingListen(_settings.BindHost, _settings.Port, prepare.ExpectedEpoch + 1,
                _settings.IoTimeout,
                guest => parked = new ParkedGuest(guest),
                // The run is logged as soon as the guest runs here (in post-copy, before its last pages arrived),
                // and the guest is offered to the VM actor at once.
                () =>
                {
                    runLog?.Start(vmId);
                    incoming.Arrived(parked);
                },
                cancellation.Token)
            {
                Encrypted = _settings.Encrypted,
                ResolveCommit = ResolveFromJournal(Context.System, incoming, _settings),
            });
        }
        catch (VmmException e)
        {
            cancellation.Dispose();
            Sender.Tell(new IncomingRefused(prepare.MigrationId, e.Message));
            return;
        }
        _registry.TryAdd(incoming);
        var receiving = new Receiving(incoming, Sender, cancellation);
        _active[prepare.MigrationId] = receiving;
        Context.Watch(Sender);
        _agent.Tell(new IncomingVm(prepare.Spec));
        Timers.StartSingleTimer(prepare.MigrationId, new IncomingExpired(prepare.MigrationId), _settings.MaxDuration);
        listening.Completion.ContinueWith(t =>
        {
            var result = t.IsCompletedSuccessfully
                ? t.Result
                : new IncomingResult(false, t.Exception?.GetBaseException().Message ?? "the target failed", 0);
            // The resume was reported first (IncomingListen's contract), so this changes nothing then; a success that
            // came without it still hands the VM actor the guest that runs here rather than nothing (a cold boot beside it).
            incoming.Arrived(result.Succeeded ? parked : null);
            return new IncomingFinished(id, result, result.Succeeded ? parked : null);
        }, TaskScheduler.Default).PipeTo(Self);
        var endpoint = listening.Endpoint;
        _log.Info("VM {0}: receiving migration {1} from {2} on {3}", vmId, id, prepare.SourceHost, endpoint);
        // A wildcard bind is reached at this node's own address.
        var reachable = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any)
            ? _host[.._host.LastIndexOf(':')]
            : endpoint.Address.ToString();
        Sender.Tell(new IncomingReady(id, reachable, endpoint.Port, listening.Credentials.Token, listening.Credentials.CertificatePin));
    }

    /// <summary>
    /// The target's "outcome unknown" state, entered when the source's Resume does not come after Ready: the guest stays
    /// restored and paused while a <see cref="CommitResolver"/> reads the VM's journal, and runs here only if the journal
    /// records the commit. A cancellation (the source went away, max-duration) does not end this wait (the source's death is
    /// what makes the outcome unknown); it gives up, freeing the guest, only after <see cref="MigrationSettings.MaxDuration"/>.
    /// </summary>
    private static Func<Task<bool>> ResolveFromJournal(ActorSystem system, IncomingMigration incoming, MigrationSettings settings) => () =>
    {
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        // A host that claimed the VM since (ReleaseClaimedVm) supersedes the commit: the guest must not run here then.
        var resolver = CommitOutcomes.Resolve(system, incoming.VmId, incoming.MigrationId, settings.CommitReadInterval,
            committed => answer.TrySetResult(committed && !incoming.Released));
        var bounded = answer.Task.WaitAsync(settings.MaxDuration);
        bounded.ContinueWith(_ => system.Stop(resolver), TaskScheduler.Default);
        return bounded;
    };

    private void Cancel(string migrationId, string why)
    {
        if (!_active.TryGetValue(migrationId, out var r) || r.Cancellation.IsCancellationRequested)
            return;
        _log.Info("VM {0}: cancelling incoming migration {1}: {2}", r.Incoming.VmId, migrationId, why);
        r.Cancellation.Cancel();
    }

    private void Finished(IncomingFinished f)
    {
        if (!_active.Remove(f.MigrationId, out var r))
            return;
        Timers.Cancel(f.MigrationId);
        r.Cancellation.Dispose();
        if (!_active.Values.Any(a => Equals(a.Source, r.Source)))
            Context.Unwatch(r.Source);
        if (f.Result.Succeeded && f.Guest is not null && r.Incoming.Released)
        {
            _log.Warning("VM {0}: migration {1} arrived after another host claimed the VM; dropping the machine", r.Incoming.VmId, f.MigrationId);
            DropArrived(r.Incoming);
            return;
        }
        if (f.Result.Succeeded && f.Guest is not null)
        {
            _log.Info("VM {0}: migration {1} arrived ({2} bytes); the machine runs here", r.Incoming.VmId, f.MigrationId, f.Result.BytesReceived);
            // It runs here from now on: the host's load counts it before its VM actor adopts it.
            _agent.Tell(new GuestBooted(r.Incoming.VmId, GuestClocks.Get(Context.System).Register(r.Incoming.VmId, f.Guest.Guest)));
            Timers.StartSingleTimer("parked-" + f.MigrationId, new ParkedExpired(r.Incoming.VmId, f.MigrationId), _settings.ParkedFor);
            return;
        }
        _log.Info("VM {0}: incoming migration {1} failed: {2}", r.Incoming.VmId, f.MigrationId, f.Result.FailureReason);
        _registry.TryRemove(r.Incoming);
        _agent.Tell(new IncomingVmEnded(r.Incoming.VmId));
    }

    /// <summary>
    /// Another host claims the VM while this one is still an Up member (its host lease runs on): whatever of the VM runs here
    /// outside a VM actor is stopped (a migrated guest parked for an actor that starts elsewhere now, a guest held through a
    /// journal fault, an incoming migration, which may not run here later either), then the local shard region is asked
    /// whether this host's VM actor for it lives: the claimer may boot the VM only when none does.
    /// </summary>
    private void Release(ReleaseClaimedVm release)
    {
        var vmId = release.VmId;
        if (_registry.Find(vmId) is { } incoming)
        {
            if (incoming.ExpectedEpoch + 1 > release.Epoch)
            {
                Sender.Tell(new ClaimedVmReleased(vmId, false, $"a migrated guest of epoch {incoming.ExpectedEpoch + 1} arrives or runs here"));
                return;
            }
            incoming.Released = true;
            _registry.TryRemove(incoming);
            if (_active.ContainsKey(incoming.MigrationId))
                Cancel(incoming.MigrationId, $"host {release.Claimer} claims the VM at epoch {release.Epoch + 1}");
            else
            {
                _log.Warning("VM {0}: host {1} claims the VM at epoch {2}; stopping the migrated machine parked here", vmId, release.Claimer,
                    release.Epoch + 1);
                Timers.Cancel("parked-" + incoming.MigrationId);
                DropArrived(incoming);
            }
        }
        if (HeldGuests.Get(Context.System).Take(vmId) is { } held)
        {
            _log.Warning("VM {0}: host {1} claims the VM at epoch {2}; stopping the guest held here since a journal fault (epoch {3})",
                vmId, release.Claimer, release.Epoch + 1, held.Epoch);
            DropGuest(vmId, held.Parked);
        }
        var replyTo = Sender;
        LocalVmActorAsync(Context.System, vmId).PipeTo(Self, success: detail => new ReleaseAnswer(replyTo,
            new ClaimedVmReleased(vmId, detail is null, detail ?? "nothing of it runs here")));
    }

    /// <summary>What still runs <paramref name="vmId"/> in a VM actor on this host (its shard region's view), or null when none does.</summary>
    private static async Task<string?> LocalVmActorAsync(ActorSystem system, string vmId)
    {
        // Without a VM shard region here (a single host, or sharding not started) no VM entity lives on this host.
        if (((ExtendedActorSystem)system).Provider is not Akka.Cluster.ClusterActorRefProvider)
            return null;
        IActorRef region;
        try
        {
            region = ClusterSharding.Get(system).ShardRegion(VmMessageExtractor.TypeName);
        }
        catch (ArgumentException)
        {
            return null;
        }
        try
        {
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            return state.Shards.Any(s => s.EntityIds.Contains(vmId)) ? "its VM actor lives here" : null;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return $"this host cannot tell whether its VM actor lives here ({e.Message})";
        }
    }

    /// <summary>Stops and frees the guest an incoming migration left running here (nobody adopted it).</summary>
    private void DropArrived(IncomingMigration incoming)
    {
        if (incoming.Arrival.IsCompletedSuccessfully && incoming.Arrival.Result is { } guest)
            DropGuest(incoming.VmId, guest);
        _agent.Tell(new IncomingVmEnded(incoming.VmId));
    }

    private void DropGuest(string vmId, ParkedGuest guest)
    {
        guest.Guest.Stop();
        _runLog?.End(vmId);
        guest.Guest.Dispose();
        if (GuestClocks.Get(Context.System).Forget(vmId, guest.Guest) is { } run)
            _agent.Tell(new GuestEnded(vmId, run));
    }

    protected override void PostStop()
    {
        foreach (var r in _active.Values)
        {
            r.Cancellation.Cancel();
        }
    }

    private sealed record ReleaseAnswer(IActorRef ReplyTo, ClaimedVmReleased Answer);

    /// <summary>One incoming migration while its page stream runs.</summary>
    private sealed record Receiving(IncomingMigration Incoming, IActorRef Source, CancellationTokenSource Cancellation);
}
