using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// A canned two-host cluster for the dashboard's browser tests, whose answers change when commands arrive, as a real
/// one's would: hosts h1:1 and h2:1; VMs web (on h1:1) and db (on h2:1, with a disk) running, cold stopped; a network lan; a migration advances one
/// pre-copy round per ListMigrations (dirty rate falling, transfer rate steady) and completes after
/// <see cref="Rounds"/>, moving the VM; a drain marks the host draining in the rebalancer's status; a migration of db
/// is refused ("target lacks memory"); the console greets and echoes what is typed. Thread-safe: the gate's stand-in and the sampler ask from several threads.
/// </summary>
internal sealed class DashboardCluster
{
    public const int Rounds = 4;

    /// <summary>db's disk, which h1:1 sees and h2:1 does not.</summary>
    public const string DbDisk = "/srv/images/db.qcow2";
    private const ulong Mib = 1 << 20;

    private readonly object _lock = new();
    private readonly Dictionary<string, (VmSpec Spec, VmStatus Status, string Node)> _vms = new()
    {
        ["web"] = (Spec("web", 2, 64), VmStatus.Running, "h1:1"),
        ["db"] = (Spec("db", 1, 128) with { Disks = [new DiskSpec(DbDisk, DiskImageFormat.Qcow2)] }, VmStatus.Running, "h2:1"),
        ["cold"] = (Spec("cold", 1, 16), VmStatus.Stopped, "h1:1"),
    };
    private readonly HashSet<string> _draining = [];
    private readonly List<MigrationInfo> _migrations = [];

    /// <summary>Answers one command that got through the gate (the stand-in's answer function).</summary>
    public object Answer(object message)
    {
        lock (_lock)
            return message switch
            {
                ListHosts => new HostList([Host("h1:1"), Host("h2:1")]),
                ListVms => new VmList([.. _vms.Values.OrderBy(v => v.Spec.Id).Select(v => new VmInfo(v.Spec, v.Status, 0, DateTime.UtcNow, "canned", v.Node))]),
                ListMigrations => Advance(),
                GetRebalanceStatus => new RebalanceStatus(RebalanceMode.Recommend, 0.1, 0.2, null,
                    [.. new[] { "h1:1", "h2:1" }.Select(h => new RebalanceHost(h, h == "h1:1" ? 0.6 : 0.3, _draining.Contains(h), new Dictionary<string, string>()))], [], [], 0),
                ListNetworks => new NetworkList([new NetworkInfo(new NetworkSpec("lan", NetworkMode.Nat, "10.9.0.0/24"), [new NetworkAddress("web", "52:54:00:00:00:01", "10.9.0.2")])]),
                GetVmEvents g => new VmEventList(g.VmId, []),
                MigrateVm { VmId: "db" } m => new NotAllowed(m.VmId, $"target {m.TargetHost} lacks memory for db"),
                MigrateVm m => Migrate(m),
                DrainHost d => Drain(d.Host, true),
                UndrainHost u => Drain(u.Host, false),
                StartVm s => Set(s.VmId, VmStatus.Running),
                StopVm s => Set(s.VmId, VmStatus.Stopped),
                CreateVm c => Create(c.Spec),
                ConsoleAttach a => new ConsoleOutput(a.VmId, System.Text.Encoding.UTF8.GetBytes($"hello from {a.VmId}\r\n$ ")),
                ConsoleInput i => new ConsoleOutput(i.VmId, i.Data),
                ConsoleDetach d => new ConsoleDetached(d.VmId),
                _ => new Status.Failure(new InvalidOperationException($"unexpected {message.GetType().Name}")),
            };
    }

    private static VmSpec Spec(string id, int vcpus, ulong mib) =>
        new(id, id, vcpus, mib * Mib, new BuiltInImage("hello"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);

    private HostStatus Host(string host)
    {
        var here = _vms.Values.Where(v => v.Node == host).ToList();
        var running = here.Count(v => v.Status == VmStatus.Running);
        return new HostStatus(host, 4, 1024 * Mib, new Dictionary<string, string>(), "GenuineIntel", [],
            [.. here.Select(v => new PlacedVm(v.Spec.Id, v.Spec.Vcpus, v.Spec.MemoryBytes, null, v.Status == VmStatus.Running ? 0.5 : 0, v.Status == VmStatus.Running ? 32 * Mib : null))],
            running, 0.5 * running, (ulong)here.Where(v => v.Status == VmStatus.Running).Sum(v => (long)v.Spec.MemoryBytes), DateTime.UtcNow)
        {
            Disks = [new DiskSeen(DbDisk, host == "h1:1", host == "h1:1" ? "id-1" : null)],
        };
    }

    private object Migrate(MigrateVm m)
    {
        var vm = _vms[m.VmId];
        _migrations.Add(new MigrationInfo(m.VmId, "m-" + m.VmId, vm.Node, m.TargetHost, MigrationState.Preparing, MigrationStrategy.Auto, 0,
            vm.Spec.MemoryBytes, (long)vm.Spec.MemoryBytes, 0, 0, -1, 0, DateTime.UtcNow, null, null, null, 0, null, m.Cause));
        return new MigrationAccepted(m.VmId, "m-" + m.VmId, vm.Node, m.TargetHost);
    }

    /// <summary>Each poll moves every migration in progress one round on; after the last round it completes and the VM moves.</summary>
    private MigrationList Advance()
    {
        for (var i = 0; i < _migrations.Count; i++)
        {
            var m = _migrations[i];
            if (!m.InProgress)
                continue;
            var round = m.State == MigrationState.Preparing ? 0 : m.Round + 1;
            if (round < Rounds)
            {
                var remaining = (long)m.MemoryBytes >> (2 * round + 1);
                _migrations[i] = m with
                {
                    State = MigrationState.PreCopy, Round = round, RemainingBytes = remaining, TransferBytesPerSecond = 200e6,
                    DirtyBytesPerSecond = 80e6 / (round + 1), EtaMs = 100 * (Rounds - round), WireBytes = (long)m.MemoryBytes - remaining,
                };
            }
            else
            {
                _migrations[i] = m with
                {
                    State = MigrationState.Completed, RemainingBytes = 0, FinishedAt = DateTime.UtcNow, DowntimeMs = 12.5, TotalMs = 1800,
                    WireBytes = (long)m.MemoryBytes + (1 << 20),
                };
                var vm = _vms[m.VmId];
                _vms[m.VmId] = vm with { Node = m.Target };
            }
        }
        return new MigrationList([.. _migrations]);
    }

    private object Drain(string host, bool drain)
    {
        if (host is not ("h1:1" or "h2:1"))
            return new HostNotFound(host, ["h1:1", "h2:1"]);
        if (drain)
        {
            _draining.Add(host);
            return new DrainStarted(host, [.. _vms.Where(v => v.Value.Node == host).Select(v => v.Key)]);
        }
        _draining.Remove(host);
        return new HostUndrained(host);
    }

    private object Set(string id, VmStatus status)
    {
        if (!_vms.TryGetValue(id, out var vm))
            return new VmNotFound(id);
        _vms[id] = vm with { Status = status };
        return new VmCommandAccepted(id, status);
    }

    private object Create(VmSpec spec)
    {
        if (_vms.ContainsKey(spec.Id))
            return new NotAllowed(spec.Id, "a VM with this id exists");
        _vms[spec.Id] = (spec, VmStatus.Defined, "h2:1");
        return new VmCreated(spec.Id, VmStatus.Defined, "h2:1");
    }
}
