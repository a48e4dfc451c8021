using System.Collections.Concurrent;
using Cluster.Vmm;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Isolation;
using Cluster.Vmm.Worker;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>
/// Idle VMM workers kept started (the .NET runtime loaded, no VM yet), so that creating a VM takes one socket round
/// trip instead of a process start. Refilled in the background after each take; taking from an empty pool starts a
/// worker on the caller's thread. Each new worker is put into its cgroup (made by the <c>makeGroup</c> delegate while the
/// process starts) before it joins the pool or is handed out, so that a create only writes its limits. Thread-safe.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private readonly IReadOnlyList<string> _command;
    private readonly WorkerSettings _settings;
    private readonly BackendKind _backend;
    private readonly Func<string, IWorkerCgroup?>? _makeGroup;
    private readonly ConcurrentQueue<PooledWorker> _idle = new();
    private readonly SemaphoreSlim _refill = new(0);
    private readonly SemaphoreSlim _launchSlots = new(Math.Max(1, Environment.ProcessorCount));
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _filler;
    private int _starting;
    private long _hits;
    private long _spawns;

    /// <summary>A pool of workers running <paramref name="command"/>; <paramref name="makeGroup"/>, when given, makes the cgroup
    /// of the worker of the given name (null where the host allows none; it must not throw), which the worker is moved into.</summary>
    public WorkerPool(IReadOnlyList<string> command, WorkerSettings settings, BackendKind backend, Func<string, IWorkerCgroup?>? makeGroup = null)
    {
        _command = command;
        _settings = settings;
        _backend = backend;
        _makeGroup = makeGroup;
        _filler = new Thread(Fill) { IsBackground = true, Name = "vmm-worker-pool" };
        _filler.Start();
        _refill.Release();
    }

    /// <summary>Idle workers ready now.</summary>
    public int Idle => _idle.Count;

    /// <summary>Takes that found an idle worker.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Takes that started a worker on the caller's thread (the pool was empty).</summary>
    public long Spawns => Interlocked.Read(ref _spawns);

    /// <summary>An idle worker (the caller owns it from now on), started now when none is ready.</summary>
    /// <exception cref="VmmException">a worker cannot be started.</exception>
    public PooledWorker Take() => Take(out _);

    /// <summary>An idle worker (the caller owns it from now on), started now when none is ready
    /// (<paramref name="fromPool"/> false then).</summary>
    /// <exception cref="VmmException">a worker cannot be started.</exception>
    public PooledWorker Take(out bool fromPool)
    {
        try
        {
            // Starts at most as many workers at once as there are cores (the filler's included): a burst of creates on an empty
            // pool used to start one process per create at once, and on 2 cores 60 .NET start-ups thrashed for 10-20 s each
            // until creates timed out. A caller waiting for a slot takes the worker the filler finishes meanwhile.
            while (true)
            {
                if (TryTakeIdle(out var ready))
                {
                    Interlocked.Increment(ref _hits);
                    fromPool = true;
                    return ready;
                }
                if (!_launchSlots.Wait(20))
                    continue;
                try
                {
                    if (TryTakeIdle(out ready))
                    {
                        Interlocked.Increment(ref _hits);
                        fromPool = true;
                        return ready;
                    }
                    Interlocked.Increment(ref _spawns);
                    fromPool = false;
                    return LaunchNow();
                }
                finally
                {
                    _launchSlots.Release();
                }
            }
        }
        finally
        {
            _refill.Release();
        }
    }

    private bool TryTakeIdle(out PooledWorker ready)
    {
        while (_idle.TryDequeue(out ready!))
        {
            if (!ready.Launch.Client.IsDisconnected)
                return true;
            ready.Launch.Client.Dispose();
            if (ready.Cgroup is { } cgroup)
                Task.Run(() => DeleteQuietly(cgroup));
        }
        return false;
    }

    private static void DeleteQuietly(IWorkerCgroup cgroup)
    {
        try
        {
            cgroup.Delete(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is CgroupException or IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Starts one worker in the runtime directory (waits while as many as there are cores are starting).</summary>
    public PooledWorker Launch()
    {
        _launchSlots.Wait();
        try
        {
            return LaunchNow();
        }
        finally
        {
            _launchSlots.Release();
        }
    }

    /// <summary>
    /// Starts a worker and puts it into its cgroup. The group is made while the process starts, on a thread of its own: making
    /// groups in the four v1 hierarchies mostly waits on the kernel (10-300 ms of wall time with next to no CPU on this 2-core
    /// machine under load), and done after the start it held a launch slot that long, so that worker starts, two at a time,
    /// bounded a burst of creates on an empty pool. Only the move into the group (a pid written per hierarchy) follows the start.
    /// </summary>
    private PooledWorker LaunchNow()
    {
        var name = "w-" + Guid.NewGuid().ToString("N")[..10];
        var group = _makeGroup is { } make
            ? Task.Factory.StartNew(() => make(name), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : null;
        WorkerLaunch launch;
        try
        {
            launch = WorkerLauncher.Launch(_command, _settings.RuntimeDirectory, name, _backend,
                _settings.LaunchTimeout, _settings.LaunchUser, _settings.EmulatorCodePages, _settings.RunLog);
        }
        catch
        {
            group?.ContinueWith(made =>
            {
                if (made.Result is { } unused)
                    DeleteQuietly(unused);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        launch.Client.CallTimeout = _settings.CallTimeout;
        var cgroup = group?.GetAwaiter().GetResult();
        if (cgroup is not null)
        {
            try
            {
                cgroup.AddProcess(launch.Pid);
            }
            catch (Exception e) when (e is CgroupException or IOException or UnauthorizedAccessException)
            {
                // The create tries again (and logs why) when the worker has no group.
                DeleteQuietly(cgroup);
                cgroup = null;
            }
        }
        return new PooledWorker(launch, cgroup);
    }

    private void Fill()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _refill.Wait(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            while (!_stop.IsCancellationRequested && _idle.Count + Volatile.Read(ref _starting) < _settings.WarmPool)
            {
                Interlocked.Increment(ref _starting);
                try
                {
                    _idle.Enqueue(Launch());
                }
                catch (VmmException)
                {
                    // Retried at the next take; a take that finds none starts its own worker and reports why it cannot.
                    break;
                }
                finally
                {
                    Interlocked.Decrement(ref _starting);
                }
            }
        }
    }

    /// <summary>Shuts the idle workers down.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _filler.Join(_settings.LaunchTimeout);
        while (_idle.TryDequeue(out var idle))
        {
            try
            {
                idle.Launch.Client.Shutdown();
            }
            catch (VmmException)
            {
            }
            idle.Launch.Client.Dispose();
            if (idle.Cgroup is { } cgroup)
                DeleteQuietly(cgroup);
        }
    }
}
