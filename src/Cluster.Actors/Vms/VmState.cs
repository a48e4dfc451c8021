using System.Collections.Immutable;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Vms;

/// <summary>
/// The pure lifecycle of one VM. <see cref="Decide"/> turns a command (or a guest exit) into events
/// or a refusal without changing anything; <see cref="Apply"/> folds an event into a new state.
/// The persistent actor persists what Decide returns, then applies it.
/// </summary>
/// <remarks>
/// Transitions: Absent -create-> Defined -start-> Running -pause-> Paused -resume-> Running;
/// Running|Paused -stop-> Stopped; Running|Paused -guest failed-> Crashed (-restart policy-> Running);
/// Defined|Stopped|Crashed -start-> Running; Defined|Stopped|Crashed -delete-> Deleted (= Absent).
/// A live migration does not change the status: Running -migrate-> (migration started) -committed-> (owner and
/// epoch of the target) -completed|failed-> (no migration); while one is uncommitted, lifecycle commands wait.
/// </remarks>
public sealed record VmState
{
    /// <summary>The state of an id that has no VM.</summary>
    public static VmState Absent { get; } = new();

    public VmSpec? Spec { get; init; }

    public VmStatus Status { get; init; } = VmStatus.Absent;

    /// <summary>Restarts made by the restart policy since the last start by a command.</summary>
    public int Restarts { get; init; }

    public DateTime Since { get; init; }

    public string Reason { get; init; } = "";

    /// <summary>The most recent events, oldest first, at most <see cref="EventsKept"/>.</summary>
    public ImmutableList<VmEvent> Events { get; init; } = [];

    public int EventsKept { get; init; } = 100;

    /// <summary>The epoch of the latest ownership claim (0: never claimed); fences older owners.</summary>
    public long Epoch { get; init; }

    /// <summary>Ownership claims so far: the starts of this VM on a host from its disks (a live migration moves ownership
    /// without one).</summary>
    public int ColdStarts { get; init; }

    /// <summary>The host of the latest ownership claim, or null.</summary>
    public string? Owner { get; init; }

    /// <summary>The live migration under way (or committed and not yet completed), or null.</summary>
    public ActiveMigration? Migration { get; init; }

    /// <summary>True when the id has a VM (defined and not deleted).</summary>
    public bool Exists => Status is not (VmStatus.Absent or VmStatus.Deleted);

    /// <summary>True when the guest should be running or paused on this node.</summary>
    public bool IsActive => Status is VmStatus.Running or VmStatus.Paused;


    /// <summary>Decides a lifecycle command at time <paramref name="now"/>.</summary>
    public VmDecision Decide(IVmCommand command, DateTime now)
    {
        if (command is CreateVm create)
            return Exists
                ? VmDecision.Refuse(new NotAllowed(create.VmId, $"a VM with id '{create.VmId}' already exists"))
                : VmDecision.Accept(new VmDefined(create.VmId, now, "created", create.Spec));
        if (!Exists)
            return VmDecision.Refuse(new VmNotFound(command.VmId));
        var id = command.VmId;
        return command switch
        {
            StartVm => Status switch
            {
                VmStatus.Defined or VmStatus.Stopped or VmStatus.Crashed => VmDecision.Accept(new VmStarted(id, now, "started by command")),
                _ => Refuse(id, "start"),
            },
            PauseVm => Status == VmStatus.Running ? VmDecision.Accept(new VmPaused(id, now, "paused by command")) : Refuse(id, "pause"),
            ResumeVm => Status == VmStatus.Paused ? VmDecision.Accept(new VmResumed(id, now, "resumed by command")) : Refuse(id, "resume"),
            StopVm stop => IsActive
                ? VmDecision.Accept(stop.Mode == StopMode.Forced
                    ? new VmStopped(id, now, "stopped by command (forced)", Forced: true)
                    : new VmStopped(id, now, "stopped by command", Forced: false))
                : Refuse(id, "stop"),
            DeleteVm => IsActive ? VmDecision.Refuse(new NotAllowed(id, $"VM is {Status}; stop it before deleting"))
                : VmDecision.Accept(new VmDeleted(id, now, "deleted by command")),
            UpdateVmSpec update => DecideUpdate(update.Spec, now),
            MigrateVm => VmDecision.Refuse(new NotAllowed(id, "live migration needs cluster mode")),
            CancelMigration => VmDecision.Refuse(new NotAllowed(id, "no migration is in progress")),
            _ => VmDecision.None,
        };
    }

    /// <summary>
    /// Decides a new spec (validated by the caller, like a create): refused while the VM runs or is paused, and when it
    /// would change the NICs; nothing to do when it says the same; else the spec, keeping what the cluster added (the
    /// NICs' MACs and addresses, the identity of each disk whose path stays).
    /// </summary>
    private VmDecision DecideUpdate(VmSpec desired, DateTime now)
    {
        var id = desired.Id;
        if (IsActive)
            return VmDecision.Refuse(new NotAllowed(id, $"VM is {Status}; stop it before changing its spec"));
        if (!VmSpecComparison.SameNics(desired.Nics, Spec!.Nics))
            return VmDecision.Refuse(new NotAllowed(id, "NICs are not updatable (their MACs and addresses were assigned at create time): " +
                                                        "delete the VM and create it again to change them"));
        var identities = Spec.Disks.Where(d => d.Identity is not null).GroupBy(d => d.Path).ToDictionary(g => g.Key, g => g.First().Identity);
        var merged = desired with
        {
            Nics = Spec.Nics,
            Disks = [.. desired.Disks.Select(d => d with { Identity = identities.GetValueOrDefault(d.Path) })],
        };
        return VmSpecComparison.Same(merged, Spec) ? VmDecision.None : VmDecision.Accept(new VmSpecUpdated(id, now, "spec updated by command", merged));
    }

    /// <summary>Whether <paramref name="command"/> changes the lifecycle (start, stop, pause, resume, delete).</summary>
    public static bool IsLifecycle(IVmCommand command) => command is StartVm or StopVm or PauseVm or ResumeVm or DeleteVm;

    /// <summary>Whether <paramref name="command"/> must wait until the migration under way ends.</summary>
    public bool Defers(IVmCommand command) => Migration is { Committed: false } && IsLifecycle(command);

    /// <summary>
    /// Decides a live migration of this VM, hosted on <paramref name="self"/>, to <paramref name="migrate"/>'s
    /// target among <paramref name="upHosts"/> (the hosts known to be up) at time <paramref name="now"/>.
    /// </summary>
    public VmDecision DecideMigration(MigrateVm migrate, string self, IReadOnlyCollection<string> upHosts, string migrationId, DateTime now)
    {
        var id = migrate.VmId;
        var target = migrate.TargetHost;
        var limits = migrate.Limits;
        if (!Exists)
            return VmDecision.Refuse(new VmNotFound(id));
        if (Migration is { Committed: false } m)
            return VmDecision.Refuse(new NotAllowed(id, $"VM is already migrating to {m.To} (migration {m.MigrationId})"));
        if (Status != VmStatus.Running)
            return VmDecision.Refuse(new NotAllowed(id, $"only a running VM can migrate; this one is {Status}"));
        if (target == self)
            return VmDecision.Refuse(new NotAllowed(id, $"VM already runs on {target}"));
        if (!upHosts.Contains(target))
            return VmDecision.Refuse(new NotAllowed(id, $"unknown or unreachable host '{target}'; hosts up: {string.Join(", ", upHosts.Order(StringComparer.Ordinal))}"));
        if (limits.DowntimeMs <= 0 || limits.BandwidthBytesPerSecond < 0 || limits.Connections is < 1 or > 64)
            return VmDecision.Refuse(new NotAllowed(id,
                "limits out of range: downtime must be above 0 ms, bandwidth 0 (no cap) or more, connections 1..64"));
        return VmDecision.Accept(new VmMigrationStarted(id, now, $"migration to {target}: {migrate.Cause.Summary}", migrationId, self, target,
            migrate.Cause, limits));
    }

    /// <summary>The answer to a cancellation: <see cref="MigrationCancelling"/> while an uncommitted migration runs, else a refusal.</summary>
    public IVmReply DecideCancel(string id) => Migration switch
    {
        { Committed: false } m => new MigrationCancelling(id, m.MigrationId),
        { } m => new NotAllowed(id, $"migration {m.MigrationId} is already committed to {m.To}"),
        null => Exists ? new NotAllowed(id, "no migration is in progress") : new VmNotFound(id),
    };

    /// <summary>Decides what a guest exit means: crashed or stopped, then maybe restarted by the policy.</summary>
    public VmDecision DecideExit(GuestExit exit, DateTime now)
    {
        if (!IsActive || Spec is null)
            return VmDecision.None;
        var id = Spec.Id;
        VmEvent ended = exit.Failed ? new VmCrashed(id, now, exit.Reason) : new VmStopped(id, now, exit.Reason, Forced: false);
        var policy = Spec.Restart;
        var wanted = policy.Mode == RestartMode.Always || (policy.Mode == RestartMode.OnFailure && exit.Failed);
        if (!wanted || Restarts >= policy.MaxRestarts)
            return VmDecision.Accept(ended);
        var attempt = Restarts + 1;
        var delay = RestartBackoff(attempt);
        var when = delay == TimeSpan.Zero ? "at once" : $"after {delay.TotalSeconds:0.#} s";
        return VmDecision.Accept(ended, new VmRestarted(id, now, $"restart policy {policy.Mode} ({attempt}/{policy.MaxRestarts}), {when}", attempt));
    }

    /// <summary>
    /// How long restart <paramref name="attempt"/> (1-based, counted since the last start) waits before it boots: the first
    /// at once (a one-off crash comes back fast), then 1 s doubled per attempt, at most 60 s, so a crash-looping guest
    /// costs its host less and less until its policy's limit leaves it crashed.
    /// </summary>
    public static TimeSpan RestartBackoff(int attempt) =>
        attempt <= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, Math.Min(attempt - 2, 6))));

    /// <summary>The reason of a boot after the journal said the VM was running (node restart or failover).</summary>
    public const string ColdBootReason = "cold boot: the journal says it was running (node restart or host failover)";

    /// <summary>
    /// Decides the boot of a VM the journal says is running, by a new incarnation on <paramref name="node"/>. When that is
    /// another host than its owner (a failover) and the VM was already moved so <paramref name="maxRelocations"/> times
    /// within <paramref name="window"/> since it was last started by hand, it is left crashed instead.
    /// </summary>
    public VmDecision DecideColdBoot(string node, DateTime now, int maxRelocations, TimeSpan window)
    {
        if (!IsActive || Spec is null)
            return VmDecision.None;
        if (Owner is { } owner && owner != node && RelocationsSince(now - window) is var moved && moved >= maxRelocations)
            return VmDecision.Accept(new VmCrashed(Spec.Id, now,
                $"not booted on {node}: failover already moved it {moved} time(s) within {window.TotalMinutes:0.#} min " +
                $"(ha.max-relocations {maxRelocations}); a guest that keeps taking its hosts down stays crashed until started by hand"));
        return VmDecision.Accept(new VmStarted(Spec.Id, now, ColdBootReason));
    }

    /// <summary>
    /// Failovers among the kept events since <paramref name="since"/>: ownership claims by another host than the owner
    /// before them (a live migration's move is no claim), counted after the last start by hand.
    /// </summary>
    public int RelocationsSince(DateTime since)
    {
        string? owner = null;
        int moved = 0;
        foreach (var e in Events)
        {
            switch (e)
            {
                case VmStarted started when started.Reason != ColdBootReason:
                    moved = 0;
                    break;
                case VmOwnerClaimed claim:
                    if (owner is not null && claim.Host != owner && claim.At >= since)
                        moved++;
                    owner = claim.Host;
                    break;
                case VmMigrated migrated:
                    owner = migrated.To;
                    break;
            }
        }
        return moved;
    }

    /// <summary>Decides what a guest that failed to boot means: crashed, never restarted.</summary>
    public VmDecision DecideBootFailure(string reason, DateTime now) =>
        IsActive && Spec is not null ? VmDecision.Accept(new VmCrashed(Spec.Id, now, $"boot failed: {reason}")) : VmDecision.None;

    /// <summary>Folds one event into a new state.</summary>
    public VmState Apply(VmEvent e)
    {
        var next = e switch
        {
            VmDefined d => new VmState { Spec = d.Spec, Status = VmStatus.Defined, EventsKept = EventsKept, Epoch = Epoch, Owner = Owner },
            VmOwnerClaimed c => this with { Epoch = c.Epoch, Owner = c.Host, ColdStarts = ColdStarts + 1 },
            VmStarted => this with { Status = VmStatus.Running, Restarts = 0 },
            VmPaused => this with { Status = VmStatus.Paused },
            VmResumed => this with { Status = VmStatus.Running },
            VmStopped => this with { Status = VmStatus.Stopped },
            VmCrashed => this with { Status = VmStatus.Crashed },
            VmRestarted r => this with { Status = VmStatus.Running, Restarts = r.Attempt },
            VmDeleted => this with { Status = VmStatus.Deleted },
            VmMigrationStarted m => this with { Migration = new ActiveMigration(m.MigrationId, m.From, m.To, false) },
            VmMigrated m => this with
            {
                Epoch = m.Epoch, Owner = m.To,
                Migration = Migration is { } a && a.MigrationId == m.MigrationId ? a with { Committed = true } : null,
            },
            VmMigrationCompleted or VmMigrationFailed => this with { Migration = null },
            VmSpecUpdated u => this with { Spec = u.Spec },
            VmDisksBound b when Spec is not null && b.Identities.Count == Spec.Disks.Count => this with
            {
                Spec = Spec with { Disks = [.. Spec.Disks.Zip(b.Identities, (d, id) => d with { Identity = id })] },
            },
            _ => this,
        };
        var events = next.Events.Add(e);
        if (events.Count > EventsKept)
            events = events.RemoveRange(0, events.Count - EventsKept);
        return e is VmOwnerClaimed or VmMigrationStarted or VmMigrationCompleted or VmMigrationFailed or VmDisksBound or VmSpecUpdated
            ? next with { Events = events }
            : next with { Since = e.At, Reason = e.Reason, Events = events };
    }

    /// <summary>
    /// The claim a new incarnation of the VM's actor on <paramref name="host"/> persists before it runs
    /// the guest: the next epoch. Any older owner that reads it stops its guest.
    /// </summary>
    public VmOwnerClaimed Claim(string id, string host, DateTime now) => new(id, now, $"owned by {host}", Epoch + 1, host);

    /// <summary>Whether <paramref name="newer"/> (events another writer appended) holds a claim above <paramref name="myEpoch"/>;
    /// a committed migration (<see cref="VmMigrated"/>) is a claim of its target.</summary>
    public static VmOwnerClaimed? NewerClaim(IEnumerable<VmEvent> newer, long myEpoch) =>
        newer.Select(e => e switch
            {
                VmOwnerClaimed c => c,
                VmMigrated m => new VmOwnerClaimed(m.VmId, m.At, m.Reason, m.Epoch, m.To),
                _ => null,
            })
            .OfType<VmOwnerClaimed>().Where(c => c.Epoch > myEpoch).MaxBy(c => c.Epoch);

    /// <summary>
    /// The event that records <paramref name="identities"/> (the images a boot found) for the disks that have none yet,
    /// or null when there is nothing to record (all recorded already, or a count that does not match the spec).
    /// </summary>
    public VmDisksBound? BindDisks(IReadOnlyList<string> identities, DateTime now) =>
        Spec is { } spec && identities.Count == spec.Disks.Count && spec.Disks.Any(d => d.Identity is null)
            ? new VmDisksBound(spec.Id, now,
                $"disks bound to their images: {string.Join(", ", spec.Disks.Zip(identities, (d, id) => $"{d.Path} = {id}"))}",
                [.. spec.Disks.Zip(identities, (d, id) => d.Identity ?? id)])
            : null;

    /// <summary>The commit of migration <paramref name="migrationId"/> to <paramref name="to"/>: the target owns the VM with the next epoch.</summary>
    public VmMigrated Commit(string id, string migrationId, string from, string to, DateTime now) =>
        new(id, now, $"migrated live from {from} to {to}", migrationId, from, to, Epoch + 1);

    /// <summary>The reply describing this VM, as hosted on <paramref name="node"/>.</summary>
    public IVmReply Describe(string id, string node) =>
        Exists && Spec is not null ? new VmInfo(Spec, Status, Restarts, Since, Reason, node, ColdStarts) : new VmNotFound(id);

    /// <summary>The persisted form of this state.</summary>
    public VmSnapshot ToSnapshot() => new(Spec, Status, Restarts, Since, Reason, Events, Epoch, Owner, ColdStarts);

    /// <summary>The state a snapshot describes, keeping at most <paramref name="eventsKept"/> events.</summary>
    public static VmState FromSnapshot(VmSnapshot s, int eventsKept) => new()
    {
        Spec = s.Spec, Status = s.Status, Restarts = s.Restarts, Since = s.Since, Reason = s.Reason,
        Events = [.. s.Events.TakeLast(eventsKept)], EventsKept = eventsKept, Epoch = s.Epoch, Owner = s.Owner,
        ColdStarts = s.ColdStarts,
    };

    private VmDecision Refuse(string id, string verb) =>
        VmDecision.Refuse(new NotAllowed(id, $"cannot {verb} a VM that is {Status}"));
}

/// <summary>A live migration recorded in a VM's state: its id, where from and to, and whether ownership moved already.</summary>
public sealed record ActiveMigration(string MigrationId, string From, string To, bool Committed);
