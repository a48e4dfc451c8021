using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Isolation;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Worker;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>
/// Creates guests in VMM worker processes, one per VM (<see cref="WorkerGuestRuntime"/>): from a warm pool
/// (<see cref="WorkerPool"/>), each in its own cgroup (memory from the VM's plus a stated overhead budget, CPU quota from its
/// vCPUs, a CPU weight below the node's, a pids limit) where the host allows. At start it reads the runtime directory: the
/// workers of an earlier incarnation of this node that run a VM wait there to be re-attached by their VM actors
/// (<see cref="Reattach"/>); idle leftovers are shut down at once, and workers nobody re-attached within
/// <see cref="WorkerSettings.OrphanGrace"/> are shut down then (their permits lapsed long before: their guests are paused).
/// </summary>
public sealed class WorkerGuestRuntimeFactory : IGuestRuntimeFactory, IDisposable
{
    private readonly MachineGuestRuntimeFactory _shape;
    private readonly WorkerSettings _settings;
    private readonly WorkerPool _pool;
    private readonly ConcurrentDictionary<string, WorkerRecord> _leftOver = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<WorkerGuestRuntime, byte> _held = new();
    private readonly Timer _orphans;
    private readonly PermitRenewals _renewals;
    private readonly Action<string> _log;
    private readonly bool _passKvm;
    private readonly ImageDirectories? _images;

    /// <summary>Workers run <paramref name="command"/> (cluster-node) on <paramref name="backend"/>; <paramref name="hypervisor"/> gives the limits.</summary>
    public WorkerGuestRuntimeFactory(IHypervisor hypervisor, WorkerSettings settings, IReadOnlyList<string> command, BackendKind backend,
        Action<string> log, ImageDirectories? images = null)
    {
        _shape = new MachineGuestRuntimeFactory(hypervisor, images);
        _images = images;
        _settings = settings;
        _log = log;
        Directory.CreateDirectory(settings.RuntimeDirectory);
        CgroupNote = settings.Cgroups ? CgroupSupport.Detect().Description : "cgroups are off (cluster-hypervisor.vmm.cgroups)";
        foreach (var record in WorkerDirectory.Scan(settings.RuntimeDirectory))
        {
            if (record.VmId is { } vmId)
                _leftOver[vmId] = record;
            else
                ShutDown(record, "an idle worker of an earlier incarnation");
        }
        if (settings.Cgroups)
        {
            // Groups of workers that ended with an earlier incarnation's host (kill -9) and were never re-attached.
            // A clean-up: whatever goes wrong here is logged and never stops the node.
            try
            {
                var keep = _leftOver.Values.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
                if (WorkerCgroup.SweepEmpty(settings.CgroupParent, TimeSpan.FromMinutes(1), keep) is > 0 and var swept)
                    log($"removed {swept} empty worker cgroup(s) left under {settings.CgroupParent} by workers that are gone");
            }
            catch (Exception e) when (e is CgroupException or IOException or UnauthorizedAccessException)
            {
                log($"could not sweep the empty worker cgroups under {settings.CgroupParent}: {e.Message}");
            }
        }
        _renewals = new PermitRenewals(settings.RenewEvery);
        _pool = new WorkerPool(command, settings, backend, settings.Cgroups ? MakeIdleGroup : null);
        _passKvm = WorkerLauncher.PassesKvm(backend, settings.LaunchUser);
        _orphans = new Timer(_ => ShutDownOrphans(), null, settings.OrphanGrace, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The permit a new guest starts under: never beyond what the host lease has left on this node's clock (a guest
    /// made while the lease is out starts paused, as one whose permit lapsed, until its VM actor confirms ownership).</summary>
    private TimeSpan InitialPermit() => _settings.PermitNow() ?? TimeSpan.FromMilliseconds(1);

    /// <summary>What the host's cgroups allow, for the node's start-up log.</summary>
    public string CgroupNote { get; }

    /// <summary>Raised after each <see cref="Create(VmSpec, long)"/> with where its time went (benchmarks, diagnostics).</summary>
    public event Action<WorkerCreateTiming>? Created;

    /// <summary>Idle workers in the warm pool now.</summary>
    public int PoolIdle => _pool.Idle;

    /// <summary>Creates served by an idle worker of the pool.</summary>
    public long PoolHits => _pool.Hits;

    /// <summary>Creates that started their worker themselves (the pool was empty).</summary>
    public long PoolSpawns => _pool.Spawns;

    /// <summary>Guests whose permits the node's renewal timer renews now (those it holds).</summary>
    public int RenewedGuests => _renewals.Count;

    /// <summary>Workers of an earlier incarnation still waiting to be re-attached.</summary>
    public int LeftOver => _leftOver.Count;

    /// <inheritdoc />
    public IReadOnlySet<string> BuiltInImages => _shape.BuiltInImages;

    /// <inheritdoc />
    public int MaxVcpus => _shape.MaxVcpus;

    /// <inheritdoc />
    public IGuestRuntime Create(VmSpec spec) => Create(spec, 0);

    /// <inheritdoc />
    public IGuestRuntime Create(VmSpec spec, long epoch)
    {
        var config = _shape.CheckedConfig(spec);
        var begin = Stopwatch.GetTimestamp();
        var pooled = _pool.Take(out var fromPool);
        var launch = pooled.Launch;
        var taken = Stopwatch.GetTimestamp();
        var cgroup = Contain(pooled, spec);
        var contained = Stopwatch.GetTimestamp();
        try
        {
            using var disks = PassedDisks.Open(config, _images);
            using var kvm = _passKvm ? PassedKvm.OpenDevice() : null;
            launch.Client.Create(new WorkerCreate(spec.Id, epoch, disks.Config) { InitialPermit = InitialPermit(), Kvm = kvm });
        }
        catch
        {
            Abandon(launch, cgroup);
            throw;
        }
        var guest = Track(new WorkerGuestRuntime(launch.Client, launch.Pid, cgroup, _settings, _renewals, permitGiven: true));
        Created?.Invoke(new WorkerCreateTiming(spec.Id, launch.Pid, fromPool, Stopwatch.GetElapsedTime(begin, taken),
            Stopwatch.GetElapsedTime(taken, contained), Stopwatch.GetElapsedTime(contained)));
        return guest;
    }

    /// <inheritdoc />
    public IncomingGuest ListenIncoming(VmSpec spec, IncomingListen listen)
    {
        var config = _shape.CheckedConfig(spec) with { IncomingMigration = true };
        var pooled = _pool.Take();
        var launch = pooled.Launch;
        var cgroup = Contain(pooled, spec);
        Cluster.Vmm.Worker.IncomingListen receiving;
        try
        {
            using var disks = PassedDisks.Open(config, _images);
            using var kvm = _passKvm ? PassedKvm.OpenDevice() : null;
            receiving = launch.Client.ListenIncoming(new WorkerIncoming(spec.Id, listen.Epoch, disks.Config)
            {
                Kvm = kvm,
                BindHost = listen.BindHost, Port = listen.Port, IoTimeout = listen.IoTimeout, Encrypted = listen.Encrypted,
                InitialPermit = InitialPermit(),
            });
            receiving.ResolveCommit = listen.ResolveCommit;
        }
        catch
        {
            Abandon(launch, cgroup);
            throw;
        }
        var guest = Track(new WorkerGuestRuntime(launch.Client, launch.Pid, cgroup, _settings, _renewals));
        listen.Created(guest);
        var resumedHandled = receiving.Resumed.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
            {
                guest.Running();
                listen.Resumed();
            }
        }, TaskScheduler.Default);
        var cancel = listen.Cancellation.Register(() => Task.Run(() =>
        {
            try
            {
                launch.Client.IncomingCancel();
            }
            catch (VmmException)
            {
            }
        }));
        // The outcome is reported only once the resume was (IncomingListen's contract): the worker reports both at once,
        // and two continuations on the thread pool run in either order, so a success seen first made the receiver
        // offer its VM actor no guest, which then booted the VM cold beside the migrated one.
        var completion = resumedHandled.ContinueWith(_ => receiving.Finished, TaskScheduler.Default).Unwrap().ContinueWith(t =>
        {
            cancel.Dispose();
            var result = t.IsCompletedSuccessfully
                ? new IncomingResult(t.Result.Succeeded, t.Result.FailureReason, t.Result.BytesReceived)
                : new IncomingResult(false, t.Exception?.GetBaseException().Message ?? "the worker's incoming migration failed", 0);
            if (!result.Succeeded)
                guest.Dispose();
            return result;
        }, TaskScheduler.Default);
        return new IncomingGuest(new IPEndPoint(IPAddress.Parse(listen.BindHost), receiving.Port), receiving.Credentials, completion);
    }

    /// <inheritdoc />
    public ReattachedGuest? Reattach(string vmId)
    {
        if (!_leftOver.TryRemove(vmId, out var record))
            return null;
        WorkerClient? client = null;
        WorkerGuestRuntime? guest = null;
        try
        {
            client = WorkerClient.Connect(record.Socket, _settings.LaunchTimeout);
            client.CallTimeout = _settings.CallTimeout;
            // The runtime listens before the history is read: output after the history's end is kept, output before it dropped.
            var cgroup = _settings.Cgroups ? WorkerCgroup.Find(record.Name, _settings.CgroupParent) : null;
            guest = Track(new WorkerGuestRuntime(client, record.Pid, cgroup, _settings, _renewals));
            var info = client.Info();
            if (info.VmId != vmId)
            {
                guest.Disconnect();
                return null;
            }
            guest.ConsoleSeenUpTo(info.ConsoleEnd);
            if (info.Exit is { } exit)
                guest.ExitedWhileAway(exit);
            if (info.State == WorkerVmState.Running)
                guest.Running();
            _log($"VM {vmId}: re-attached to worker {record.Name} (pid {record.Pid}, epoch {info.Epoch}, {info.State})");
            return new ReattachedGuest(guest, info.Epoch, info.ConsoleHistory);
        }
        catch (VmmException e)
        {
            _log($"VM {vmId}: cannot re-attach to worker {record.Name} (pid {record.Pid}): {e.Message}");
            if (guest is not null)
                guest.Disconnect();
            else
                client?.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Makes the cgroup of a worker being started (named as the worker), with the limits of an idle worker (no guest memory, one
    /// CPU), so that a create only writes its VM's limits (a few small files) instead of making groups in every hierarchy; the
    /// pool moves the worker in once it runs. Null where that fails: the create then tries again and logs why.
    /// </summary>
    private IWorkerCgroup? MakeIdleGroup(string workerName)
    {
        // Runs beside a worker's start: nothing may escape (an exception on the pool's filler thread would end the node).
        WorkerCgroup? cgroup = null;
        try
        {
            return cgroup = WorkerCgroup.TryCreate(workerName, CgroupLimits.ForVm(0, 1), _settings.CgroupParent, out _);
        }
        catch (Exception e) when (e is CgroupException or IOException or UnauthorizedAccessException)
        {
            try
            {
                cgroup?.Delete(TimeSpan.Zero);
            }
            catch (Exception again) when (again is CgroupException or IOException or UnauthorizedAccessException)
            {
            }
            return null;
        }
    }

    /// <summary>Gives a worker its VM's limits in the cgroup it got in the pool, or puts it into a new one; null (and a log line)
    /// where the host allows none.</summary>
    private IWorkerCgroup? Contain(PooledWorker pooled, VmSpec spec)
    {
        if (!_settings.Cgroups)
            return null;
        var launch = pooled.Launch;
        if (pooled.Cgroup is { } ready)
        {
            try
            {
                ready.SetLimits(CgroupLimits.ForVm(spec.MemoryBytes, spec.Vcpus));
                return ready;
            }
            catch (CgroupException e)
            {
                _log($"VM {spec.Id}: cannot set the limits of {ready}: {e.Message}");
                return ready;
            }
        }
        var cgroup = WorkerCgroup.TryCreate(launch.Client.WorkerName, CgroupLimits.ForVm(spec.MemoryBytes, spec.Vcpus), _settings.CgroupParent,
            out var reason);
        if (cgroup is null)
        {
            _log($"VM {spec.Id}: its worker runs without a cgroup: {reason}");
            return null;
        }
        try
        {
            cgroup.AddProcess(launch.Pid);
        }
        catch (CgroupException e)
        {
            _log($"VM {spec.Id}: cannot move its worker into {cgroup}: {e.Message}");
        }
        return cgroup;
    }

    private static void Abandon(WorkerLaunch launch, IWorkerCgroup? cgroup)
    {
        try
        {
            launch.Client.Shutdown();
        }
        catch (VmmException)
        {
        }
        launch.Client.Dispose();
        if (!WorkerProcesses.WaitForExit(launch.Pid, TimeSpan.FromSeconds(5)))
            WorkerProcesses.Kill(launch.Pid);
        cgroup?.Delete(TimeSpan.FromSeconds(2));
    }

    private void ShutDownOrphans()
    {
        foreach (var (vmId, record) in _leftOver.ToArray())
        {
            if (_leftOver.TryRemove(new KeyValuePair<string, WorkerRecord>(vmId, record)))
                ShutDown(record, $"no VM actor re-attached to VM {vmId} within {_settings.OrphanGrace}");
        }
    }

    private void ShutDown(WorkerRecord record, string why)
    {
        _log($"shutting down worker {record.Name} (pid {record.Pid}): {why}");
        try
        {
            using var client = WorkerClient.Connect(record.Socket, TimeSpan.FromSeconds(5));
            client.Shutdown();
        }
        catch (VmmException)
        {
            WorkerProcesses.Kill(record.Pid);
        }
        if (_settings.Cgroups && WorkerCgroup.Find(record.Name, _settings.CgroupParent) is { } cgroup)
            cgroup.Delete(TimeSpan.FromSeconds(2));
    }

    /// <summary>Keeps <paramref name="guest"/> in the list of guests this node holds until it is freed or detached.</summary>
    private WorkerGuestRuntime Track(WorkerGuestRuntime guest)
    {
        _held[guest] = 0;
        guest.Released += () => _held.TryRemove(guest, out _);
        return guest;
    }

    /// <summary>
    /// Shuts the warm pool down. Where guests do not outlive the node (<see cref="WorkerSettings.DetachOnShutdown"/> off: a
    /// cluster node, whose VMs go elsewhere), every worker this node still holds is shut down too, whether or not its
    /// supervisor got to stop it during the shutdown: a guest must not run on here unfenced while the cluster starts it
    /// elsewhere.
    /// </summary>
    public void Dispose()
    {
        if (!_settings.DetachOnShutdown)
        {
            foreach (var guest in _held.Keys)
            {
                _log($"shutting down the worker of a guest still held at the node's shutdown (pid {guest.Pid})");
                guest.Dispose();
            }
        }
        _orphans.Dispose();
        _pool.Dispose();
        // Guests that outlive the node (detached by their supervisors, or held still) keep their permits renewed until then.
        if (_held.IsEmpty)
            _renewals.Dispose();
    }
}
