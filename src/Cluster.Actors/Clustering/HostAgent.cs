using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Cluster.Actors.Disks;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Clustering;

/// <summary>
/// One per node (at <see cref="Path"/>): knows the VMs this host carries (their VM actors tell it) and
/// the guests that run (their CPU time is the host's load: with <c>cpu-load = cgroup</c>, each VMM worker's cgroup's CPU
/// accounting where it has one, else, and with <c>vcpu</c>, the guest's vCPU time; with the memory each worker's cgroup holds),
/// and every <c>refresh</c> publishes a
/// <see cref="HostStatus"/> on the cluster-wide <see cref="Topic"/>. It also relays fence pauses to
/// the local VM actors and lists them for the control plane, with the migrations that leave this host
/// (in progress, and finished ones for a while). VMs arriving by migration count against its capacity.
/// Disks: each status carries what this host sees at every disk path of the VMs it knows (the placement decisions
/// shared cluster-wide, its own VMs and the arriving ones): whether the image exists and its identity
/// (<see cref="DiskIdentity"/>); a <see cref="CheckDisks"/> (the scheduler, for a new VM's paths) is answered at once.
/// </summary>
public sealed class HostAgent : ReceiveActor, IWithTimers
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "host-agent";

    /// <summary>The path on every node.</summary>
    public const string Path = "/user/" + Name;

    /// <summary>The pub-sub topic of host statuses.</summary>
    public const string Topic = "host-status";

    private readonly string _host;
    private readonly HostCapacity _capacity;
    private readonly TimeSpan _refresh;
    private readonly Dictionary<string, (Contracts.Vms.VmSpec Spec, IActorRef Actor)> _vms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _guests = new(StringComparer.Ordinal);
    private readonly GuestClocks _clocks = GuestClocks.Get(Context.System);
    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;
    private readonly GuestLoadMeter _loads;
    private readonly HostIoAccount _io = new();
    private readonly Dictionary<string, Contracts.Vms.VmSpec> _incoming = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MigrationInfo> _migrations = new(StringComparer.Ordinal);
    private readonly TimeSpan _keepFinished;
    private readonly bool _cgroupCpu;
    private bool _fenced;
    private IReadOnlyList<DiskSeen> _disks = [];
    private bool _looking;

    public HostAgent(string host, HostCapacity capacity, TimeSpan refresh, TimeSpan? keepFinished = null, bool cgroupCpu = true,
        TimeSpan? loadWindow = null)
    {
        _loads = new GuestLoadMeter(loadWindow ?? DefaultLoadWindow);
        _cgroupCpu = cgroupCpu;
        _host = host;
        _capacity = capacity;
        _refresh = refresh;
        _keepFinished = keepFinished ?? MigrationSettings.Default.KeepFinished;
        Receive<VmHosted>(h =>
        {
            _vms[h.Spec.Id] = (h.Spec, h.Actor);
            _incoming.Remove(h.Spec.Id);
            if (_fenced)
                h.Actor.Tell(FencePause.Instance);
        });
        Receive<VmUnhosted>(u =>
        {
            if (_vms.TryGetValue(u.VmId, out var v) && Equals(v.Actor, u.Actor))
                _vms.Remove(u.VmId);
        });
        Receive<GuestBooted>(g =>
        {
            // A guest that arrived by migration is told twice: when it arrives and when its VM actor adopts it.
            if (_guests.TryGetValue(g.VmId, out var known) && known == g.Run)
                return;
            _guests[g.VmId] = g.Run;
            var (cpu, at) = _clocks.Sample(g.VmId, g.Run)?.Cpu(_cgroupCpu) ?? (TimeSpan.Zero, DateTime.UtcNow);
            _loads.Begin(g.VmId, cpu, at);
        });
        Receive<GuestEnded>(g =>
        {
            if (_guests.TryGetValue(g.VmId, out var run) && run == g.Run)
                _guests.Remove(g.VmId);
        });
        Receive<FencePause>(p =>
        {
            _fenced = true;
            foreach (var v in _vms.Values)
                v.Actor.Tell(p);
            Vms.HeldGuests.Get(Context.System).PauseAll();
        });
        Receive<FenceResume>(r =>
        {
            _fenced = false;
            foreach (var v in _vms.Values)
                v.Actor.Tell(r);
            Vms.HeldGuests.Get(Context.System).ResumeAll();
        });
        Receive<IncomingVm>(i => _incoming[i.Spec.Id] = i.Spec);
        Receive<IncomingVmEnded>(e => _incoming.Remove(e.VmId));
        Receive<MigrationInfo>(info => _migrations[info.MigrationId] = info);
        Receive<ListMigrations>(_ => Sender.Tell(new MigrationList(ListMigrationsHere())));
        Receive<Tick>(_ => PublishStatus());
        Receive<ListLocalVms>(_ => List());
        Receive<CheckDisks>(c =>
        {
            var host = _host;
            var paths = c.Paths;
            Task.Run(() => new DisksSeen(host, [.. paths.Select(DiskIdentity.Look)])).PipeTo(Sender);
        });
        Receive<DisksLooked>(l =>
        {
            _disks = l.Seen ?? _disks;
            _looking = false;
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The agent's props.</summary>
    /// <param name="host">This host's address.</param>
    /// <param name="capacity">What it offers guests.</param>
    /// <param name="refresh">How often it publishes its status.</param>
    /// <param name="keepFinished">How long finished migrations stay listed.</param>
    /// <param name="cgroupCpu">Count a guest's load from its worker's cgroup CPU time where it has one (<c>cluster-hypervisor.host.cpu-load
    /// = cgroup</c>); false counts its vCPU time (<c>vcpu</c>: hosts that share one machine's cores).</param>
    /// <param name="loadWindow">How far back a guest's CPU readings count in its load (<c>cluster-hypervisor.host.load-window</c>).</param>
    public static Props Props(string host, HostCapacity capacity, TimeSpan refresh, TimeSpan? keepFinished = null, bool cgroupCpu = true,
        TimeSpan? loadWindow = null) =>
        Akka.Actor.Props.Create(() => new HostAgent(host, capacity, refresh, keepFinished, cgroupCpu, loadWindow));

    /// <summary>The load window when none is configured.</summary>
    public static TimeSpan DefaultLoadWindow { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The migrations leaving this host: in progress first, then those finished within keep-finished, newest first.</summary>
    private List<MigrationInfo> ListMigrationsHere()
    {
        var now = DateTime.UtcNow;
        foreach (var old in _migrations.Values.Where(m => m.FinishedAt is { } at && now - at > _keepFinished).ToList())
            _migrations.Remove(old.MigrationId);
        return [.. _migrations.Values.OrderBy(m => m.InProgress ? 0 : 1).ThenByDescending(m => m.FinishedAt ?? m.StartedAt)];
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("publish", Tick.Instance, TimeSpan.Zero, _refresh);
        Context.GetLogger().Info("host {0}: {1} vCPUs, {2} bytes, CPU {3}", _host, _capacity.Vcpus, _capacity.MemoryBytes, _capacity.Cpu.Vendor);
    }

    private void PublishStatus()
    {
        var now = DateTime.UtcNow;
        var loads = new Dictionary<string, double>(StringComparer.Ordinal);
        var memory = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var io = new Dictionary<string, IoTotals>(StringComparer.Ordinal);
        foreach (var (id, run) in _guests)
        {
            // A run that ended (its GuestEnded on the way) no longer counts.
            if (_clocks.Sample(id, run) is not { } sample)
                continue;
            if (sample.MemoryBytes is { } used)
                memory[id] = used;
            if (sample.Io is { } counters)
                io[id] = _io.Observe(id, run, counters);
            // A guest counts from when it booted or arrived here, so its first report already shows its load (a zero
            // there made a VM that had just moved look absent to the rebalancer); one whose time restarted counts from now.
            var (cpu, at) = sample.Cpu(_cgroupCpu);
            loads[id] = _loads.Load(id, cpu, at);
        }
        _loads.KeepOnly(_guests.Keys);
        _io.KeepOnly(_guests.Keys);
        var status = new HostStatus(_host, _capacity.Vcpus, _capacity.MemoryBytes, _capacity.Labels, _capacity.Cpu.Vendor,
            _capacity.Cpu.Features,
            [.. _vms.Values.Select(v => v.Spec).Concat(_incoming.Values.Where(i => !_vms.ContainsKey(i.Id)))
                .Select(spec => new PlacedVm(spec.Id, spec.Vcpus, spec.MemoryBytes, spec.AntiAffinityGroup, loads.GetValueOrDefault(spec.Id),
                    memory.TryGetValue(spec.Id, out var used) ? used : (ulong?)null, io.GetValueOrDefault(spec.Id)))
                .OrderBy(v => v.VmId, StringComparer.Ordinal)],
            _guests.Count, loads.Values.Sum(),
            _guests.Keys.Where(_vms.ContainsKey).Aggregate(0UL, (sum, id) => sum + _vms[id].Spec.MemoryBytes),
            now)
        {
            Disks = _disks,
            Io = _io.Total,
        };
        LookAtDisks();
        PlacementBoard.Get(Context.System).Report(status);
        _mediator.Tell(new Publish(Topic, status));
    }

    /// <summary>
    /// Looks at the disk paths of every VM this host knows of, off the actor's thread (a hung mount stalls only the
    /// look, never the fence relay), for the next status; one look at a time.
    /// </summary>
    private void LookAtDisks()
    {
        if (_looking)
            return;
        List<string> paths =
        [
            .. PlacementBoard.Get(Context.System).Decisions().Select(d => d.Spec)
                .Concat(_vms.Values.Select(v => v.Spec)).Concat(_incoming.Values)
                .SelectMany(spec => spec.Disks).Select(d => d.Path).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal),
        ];
        if (paths.Count == 0)
        {
            _disks = [];
            return;
        }
        _looking = true;
        Task.Run(() => new DisksLooked([.. paths.Select(DiskIdentity.Look)])).PipeTo(Self, failure: _ => new DisksLooked(null));
    }

    private void List()
    {
        var sender = Sender;
        var asks = _vms.Values.Select(v => v.Actor.Ask<IVmReply>(new GetVm(v.Spec.Id), TimeSpan.FromSeconds(5))).ToList();
        Task.WhenAll(asks).ContinueWith(t => t.IsCompletedSuccessfully
                ? new VmList([.. t.Result.OfType<VmInfo>().OrderBy(i => i.VmId, StringComparer.Ordinal)])
                : (object)new Status.Failure(t.Exception?.GetBaseException() ?? new TimeoutException("listing VMs timed out")),
            TaskScheduler.Default).PipeTo(sender);
    }

    /// <summary>The result of a look at the disk paths; null when it failed (the last one stands).</summary>
    private sealed record DisksLooked(IReadOnlyList<DiskSeen>? Seen);

    private sealed class Tick
    {
        public static Tick Instance { get; } = new();
    }
}
