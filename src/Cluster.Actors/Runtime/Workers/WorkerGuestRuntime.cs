using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using Cluster.Vmm;
using Cluster.Vmm.Isolation;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Worker;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>
/// An <see cref="IGuestRuntime"/> whose guest runs in its own VMM worker process (<c>cluster-node vmm serve</c>), driven
/// over the worker's Unix socket (<see cref="WorkerClient"/>). The node renews the worker's run permit every
/// <see cref="WorkerSettings.RenewEvery"/> and refreshes its figures every <see cref="WorkerSettings.StatsEvery"/>, both from
/// the node's one renewal timer (<see cref="PermitRenewals"/>) and without waiting for the replies; console output arrives with absolute offsets
/// (bytes already seen are dropped, so a re-attach shows no gap and no repeat). The worker's death is the guest's
/// failure; freeing the runtime shuts the worker down, detaching leaves it running.
/// </summary>
public sealed class WorkerGuestRuntime : IGuestRuntime
{
    private readonly WorkerClient _client;
    private readonly IWorkerCgroup? _cgroup;
    private readonly WorkerSettings _settings;
    private readonly PermitRenewals _renewals;
    private long _renewAt;
    private long _statsAt;
    private int _renewing;
    private int _reading;
    private readonly Lock _gate = new();
    private Action<GuestExit>? _exited;
    private readonly Lock _serialGate = new();
    private readonly List<(long Offset, byte[] Bytes)> _pendingSerial = [];
    private Action<byte[]>? _serialOutput;
    private GuestExit? _exit;
    private long _consoleEnd;
    // The guest time of the worker's last stats and when they arrived, replaced as a whole (read from other threads).
    private StrongBox<(TimeSpan Time, DateTime At)> _guestRead = new((TimeSpan.Zero, DateTime.UtcNow));
    private StrongBox<Cluster.Vmm.Devices.IoCounters>? _io;
    private volatile bool _wantRunning;
    private int _released;

    /// <summary>Drives the worker behind <paramref name="client"/> (its console from the start; see <see cref="ConsoleSeenUpTo"/>).
    /// <paramref name="permitGiven"/>: the worker got a whole permit with its last request (a create), so the first renewal waits
    /// a renewal period instead of going out at once, where it and its stats request queued ahead of the guest's Start in the worker.
    /// <paramref name="renewals"/>: the node's renewal timer, which renews this guest's permit until it is freed or detached.</summary>
    public WorkerGuestRuntime(WorkerClient client, int pid, IWorkerCgroup? cgroup, WorkerSettings settings, PermitRenewals renewals,
        bool permitGiven = false)
    {
        _client = client;
        _cgroup = cgroup;
        _settings = settings;
        Pid = pid;
        _client.SerialOutput += OnSerial;
        _client.Exited += exit => RaiseExit(MachineGuestRuntime.Describe(exit));
        _client.Disconnected += why =>
        {
            if (Volatile.Read(ref _released) == 0)
                RaiseExit(new GuestExit(true, WhyGone(why)));
        };
        _client.PermitLapsed += OnPermitLapsed;
        _renewals = renewals;
        var now = Stopwatch.GetTimestamp();
        // After a create the first renewal goes out half a period to one and a half periods later (the next tick past this).
        _renewAt = _statsAt = permitGiven ? now + Ticks(settings.RenewEvery / 2) : now;
        renewals.Add(this);
        if (!permitGiven)
            RenewDue(now);
    }

    /// <summary>Raised once when this runtime lets go of its worker (freed or detached).</summary>
    public event Action? Released;

    /// <summary>The worker's process id.</summary>
    public int Pid { get; }

    /// <summary>The worker's cgroup, when it has one.</summary>
    public IWorkerCgroup? Cgroup => _cgroup;

    /// <inheritdoc />
    /// <remarks>A handler added after the guest ended is called at once.</remarks>
    public event Action<GuestExit>? Exited
    {
        add
        {
            GuestExit? already;
            lock (_gate)
            {
                _exited += value;
                already = _exit;
            }
            if (already is not null)
                value?.Invoke(already);
        }
        remove
        {
            lock (_gate)
                _exited -= value;
        }
    }

    /// <inheritdoc />
    /// <remarks>Output that arrives before the first handler is added is kept and given to it (nothing is lost between a
    /// re-attach and the adopting supervisor's subscription).</remarks>
    public event Action<byte[]>? SerialOutput
    {
        add
        {
            lock (_serialGate)
            {
                _serialOutput += value;
                foreach (var (offset, bytes) in _pendingSerial)
                    Deliver(offset, bytes);
                _pendingSerial.Clear();
            }
        }
        remove
        {
            lock (_serialGate)
                _serialOutput -= value;
        }
    }

    /// <summary>
    /// The console bytes before <paramref name="end"/> are known to the caller already (the worker's history it read after
    /// connecting): output before it is dropped, output after it delivered.
    /// </summary>
    public void ConsoleSeenUpTo(long end)
    {
        lock (_serialGate)
            _consoleEnd = Math.Max(_consoleEnd, end);
    }

    /// <inheritdoc />
    public TimeSpan GuestTime => Volatile.Read(ref _guestRead).Value.Time;

    /// <inheritdoc />
    /// <remarks>As of the worker's last stats, with the moment they arrived.</remarks>
    public (TimeSpan Time, DateTime At) GuestTimeRead => Volatile.Read(ref _guestRead).Value;

    /// <inheritdoc />
    /// <remarks>As of the worker's last stats (every <see cref="WorkerSettings.StatsEvery"/>).</remarks>
    public Cluster.Vmm.Devices.IoCounters? Io => Volatile.Read(ref _io)?.Value;

    /// <inheritdoc />
    /// <remarks>Read from the worker's cgroup at each call (a few small files); null without a cgroup or once it is gone.</remarks>
    public GuestAccounting? Accounting
    {
        get
        {
            try
            {
                return _cgroup is null || Volatile.Read(ref _released) != 0 ? null : GuestAccounting.Of(_cgroup.Usage());
            }
            catch (VmmException)
            {
                // The group went away with its worker.
                return null;
            }
        }
    }

    /// <inheritdoc />
    public void Start()
    {
        _wantRunning = true;
        _client.Start();
    }

    /// <inheritdoc />
    public void Pause()
    {
        _wantRunning = false;
        _client.Pause();
    }

    /// <inheritdoc />
    public void Resume()
    {
        _wantRunning = true;
        // A guest paused by a lapsed permit resumes only under a renewed one (never beyond the host lease).
        if (_settings.PermitNow() is { } permit)
            _client.RenewPermit(permit);
        _client.Resume();
    }

    /// <inheritdoc />
    public void Stop()
    {
        _wantRunning = false;
        if (!_client.IsDisconnected)
            _client.Stop();
    }

    /// <inheritdoc />
    public MachineSnapshot SaveState() => MachineSnapshotCodec.Decode(_client.SaveState());

    /// <inheritdoc />
    public void SendSerialInput(byte[] data) => _client.SendSerialInput(data);

    /// <summary>Marks the guest as running (a re-attached guest that runs; the permit keeps it running).</summary>
    public void Running() => _wantRunning = true;

    /// <inheritdoc />
    public Task<MigrationResult> MigrateOutAsync(IPEndPoint target, MigrationCredentials credentials, MigrationOptions options,
        IProgress<MigrationProgress> progress, CancellationToken ct) =>
        _client.MigrateOutAsync(target.Address.ToString(), target.Port, credentials, new WorkerMigrationOptions
        {
            DowntimeLimit = options.DowntimeLimit,
            DowntimeTarget = options.DowntimeTarget,
            MaxBandwidth = options.MaxBandwidth,
            Connections = options.Connections,
            Mode = options.Mode,
            AllowPostCopy = options.AllowPostCopy,
            IoTimeout = options.IoTimeout,
            Xbzrle = options.Xbzrle,
        }, progress, options.Commit ?? (_ => Task.CompletedTask), ct);

    /// <inheritdoc />
    public bool Detach()
    {
        if (!_settings.DetachOnShutdown)
        {
            Stop();
            Dispose();
            return false;
        }
        return Disconnect();
    }

    /// <summary>Closes the connection and stops renewing the permit; the worker and its guest go on (a next node may re-attach). True the first time.</summary>
    public bool Disconnect()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return false;
        _renewals.Remove(this);
        _client.Dispose();
        Released?.Invoke();
        return true;
    }

    /// <summary>The guest ended while no node was attached (a re-attach found it so): handlers get the exit.</summary>
    public void ExitedWhileAway(MachineExit exit) => RaiseExit(MachineGuestRuntime.Describe(exit));

    /// <summary>Shuts the worker down (its guest stops, its memory is freed) and removes its cgroup.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        _renewals.Remove(this);
        Released?.Invoke();
        try
        {
            if (!_client.IsDisconnected)
                _client.Shutdown();
        }
        catch (VmmException)
        {
        }
        _client.Dispose();
        if (!WorkerProcesses.WaitForExit(Pid, TimeSpan.FromSeconds(5)))
            WorkerProcesses.Kill(Pid);
        // The worker removes its own log when shut down on request (one that died keeps it for the operator).
        _cgroup?.Delete(TimeSpan.FromSeconds(2));
    }

    private void OnSerial(long offset, byte[] bytes)
    {
        lock (_serialGate)
        {
            if (_serialOutput is null)
                _pendingSerial.Add((offset, bytes));
            else
                Deliver(offset, bytes);
        }
    }

    /// <summary>Hands on the part of a chunk not seen yet (bytes before a re-attach's history end are dropped; a chunk may overlap it).</summary>
    private void Deliver(long offset, byte[] bytes)
    {
        var end = offset + bytes.Length;
        if (end <= _consoleEnd)
            return;
        var skip = (int)Math.Max(0, _consoleEnd - offset);
        _consoleEnd = end;
        _serialOutput?.Invoke(skip == 0 ? bytes : bytes[skip..]);
    }

    /// <summary>Why the worker's connection ended, naming its cgroup's out-of-memory kill when that was it.</summary>
    private string WhyGone(string why)
    {
        try
        {
            if (_cgroup?.Usage() is { OomKills: > 0 } usage)
                return $"the VMM worker (pid {Pid}) was killed at its cgroup's memory limit ({_cgroup.Limits().MemoryBytes >> 20} MiB; " +
                    $"peak {usage.MemoryPeakBytes >> 20} MiB)";
        }
        catch (VmmException)
        {
        }
        return $"the VMM worker (pid {Pid}) went away: {why}";
    }

    private void RaiseExit(GuestExit exit)
    {
        Action<GuestExit>? handlers;
        lock (_gate)
        {
            if (_exit is not null)
                return;
            _exit = exit;
            handlers = _exited;
        }
        handlers?.Invoke(exit);
    }

    /// <summary>
    /// The permit lapsed (this node did not renew it in time): the worker paused the guest. This node may no longer own the VM
    /// (a node stopped longer than the cluster takes to down it and restart its VMs elsewhere wakes up here), so the guest
    /// stays paused until the owner confirms ownership and calls <see cref="ResumeAfterLapse"/>. (It resumed at once before,
    /// which let a node woken from SIGSTOP run a guest that another host had started meanwhile: found by the nemesis.)
    /// </summary>
    private void OnPermitLapsed()
    {
        if (Volatile.Read(ref _released) == 0)
            PermitLapsed?.Invoke();
    }

    /// <inheritdoc />
    public event Action? PermitLapsed;

    /// <inheritdoc />
    public void ResumeAfterLapse()
    {
        if (Volatile.Read(ref _released) != 0)
            return;
        try
        {
            // Not while the host lease is out: the guest stays paused (its VM actor asks again).
            if (_settings.PermitNow() is not { } permit)
                return;
            _client.RenewPermit(permit);
            if (_wantRunning)
                _client.Resume();
        }
        catch (VmmException)
        {
        }
    }

    /// <summary>
    /// Called by the node's renewal timer: sends the permit renewal when it is due and no earlier one is unanswered (another would
    /// only queue behind it in the worker, which serves a connection's requests in order, and the worker counts the validity from
    /// when it reads the request), and the stats request every <see cref="WorkerSettings.StatsEvery"/>. Nothing waits for the
    /// replies; a renewal that fails is retried at the next tick, and a worker that is gone is reported by its connection's end.
    /// </summary>
    internal void RenewDue(long now)
    {
        if (Volatile.Read(ref _released) != 0 || _client.IsDisconnected || now < Volatile.Read(ref _renewAt))
            return;
        if (Interlocked.CompareExchange(ref _renewing, 1, 0) == 0)
            _ = RenewAsync();
        if (now >= Volatile.Read(ref _statsAt) && Interlocked.CompareExchange(ref _reading, 1, 0) == 0)
        {
            Volatile.Write(ref _statsAt, now + Ticks(_settings.StatsEvery));
            _ = ReadStatsAsync();
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            // Once the host lease runs out nothing is renewed: the permit lapses and the worker pauses the guest.
            if (_settings.PermitNow() is { } permit)
                await _client.RenewPermitAsync(permit).ConfigureAwait(false);
        }
        catch (Exception e) when (e is VmmException or ObjectDisposedException)
        {
            // A worker gone is reported by its connection's end; a slow one is renewed again at the next tick.
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    /// <summary>The guest's vCPU time (the load figure where the worker has no cgroup, see <see cref="Accounting"/>) and its I/O counters.</summary>
    private async Task ReadStatsAsync()
    {
        try
        {
            var stats = await _client.StatsAsync().ConfigureAwait(false);
            Volatile.Write(ref _guestRead, new StrongBox<(TimeSpan, DateTime)>((stats.GuestCpuTime, DateTime.UtcNow)));
            Volatile.Write(ref _io, stats.Io is { } io ? new StrongBox<Cluster.Vmm.Devices.IoCounters>(io) : null);
        }
        catch (Exception e) when (e is VmmException or ObjectDisposedException)
        {
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
