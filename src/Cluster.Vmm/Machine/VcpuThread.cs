using Cluster.Vmm.Devices;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Machine;

/// <summary>
/// Runs one <see cref="IVcpu"/> on its own dedicated thread ("vcpu-N"): IVcpu.Run, then port and
/// MMIO exits go to the <see cref="IoBus"/> (reads completed with IVcpu.CompleteRead) and it runs
/// again; HLT, shutdown, internal errors and unknown exits end it with a <see cref="MachineExit"/>.
/// Start, Pause, Resume and Stop are requests from other threads, answered with a
/// <see cref="VcpuRequestResult"/> (NotAllowed with a reason where the state forbids them); they
/// get the vCPU out of Run with IVcpu.Kick. Pause returns once the vCPU is really out of Run, so
/// its state can be saved. The IVcpu is touched only by this thread while it runs, and by the
/// caller while it is Created, Paused or Finished.
/// </summary>
public sealed class VcpuThread
{
    [ThreadStatic] private static VcpuThread? _current;

    private enum Request { None, Pause, Stop }

    private readonly object _gate = new();
    private readonly IoBus _bus;
    private VcpuRunState _state = VcpuRunState.Created;
    // Written under _gate; read without it on the run loop's fast path (a missed write is caught
    // after the Kick that follows every request makes Run return).
    private volatile Request _request;
    private MachineExit? _exit;
    private Thread? _thread;
    private volatile int _throttlePercent;
    private long _throttleDebt;

    /// <summary>A vCPU thread for <paramref name="vcpu"/> that dispatches I/O to <paramref name="bus"/>.</summary>
    public VcpuThread(IVcpu vcpu, IoBus bus)
    {
        Vcpu = vcpu ?? throw new ArgumentNullException(nameof(vcpu));
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
    }

    /// <summary>The vCPU thread running on the calling thread, or null on any other thread.</summary>
    public static VcpuThread? Current => _current;

    /// <summary>The vCPU id.</summary>
    public int Id => Vcpu.Id;

    /// <summary>The vCPU this thread runs.</summary>
    public IVcpu Vcpu { get; }

    /// <summary>The current state.</summary>
    public VcpuRunState State { get { lock (_gate) return _state; } }

    /// <summary>Why the vCPU finished, once it has.</summary>
    public MachineExit? Exit { get { lock (_gate) return _exit; } }

    /// <summary>
    /// Auto-converge throttle for live migration, 0..99: after each return from IVcpu.Run the thread
    /// sleeps so that it runs guest code only (100 - percent)% of the time (the sleep it owes is
    /// carried over between runs, and a Pause or Stop request cuts it short). The caller kicks the
    /// vCPU periodically so that Run returns often enough (see Machine.SetThrottle).
    /// </summary>
    public int ThrottlePercent
    {
        get => _throttlePercent;
        set
        {
            if (value is < 0 or > 99) throw new ArgumentOutOfRangeException(nameof(value), "throttle must be 0..99 percent");
            _throttlePercent = value;
        }
    }

    /// <summary>Raised once on the vCPU thread when it finishes, for any reason.</summary>
    public event Action<VcpuThread, MachineExit>? Finished;

    /// <summary>
    /// Creates and starts the thread ahead of <see cref="Start"/>, waiting there without entering the guest, so that a start
    /// that must be quick (a migration's target resuming the guest it received) only wakes it. The vCPU stays Created (a
    /// <see cref="Stop"/> ends the waiting thread). Does nothing unless Created and not prepared yet.
    /// </summary>
    public void Prepare()
    {
        lock (_gate)
        {
            if (_state != VcpuRunState.Created || _thread is not null) return;
            _thread = new Thread(Loop) { Name = $"vcpu-{Id}", IsBackground = true };
            _thread.Start();
        }
    }

    /// <summary>Starts the thread (or wakes the one <see cref="Prepare"/> started). Allowed only in Created.</summary>
    public VcpuRequestResult Start()
    {
        lock (_gate)
        {
            if (_state != VcpuRunState.Created)
                return VcpuRequestResult.NotAllowed($"vcpu {Id} cannot start: it is {_state}");
            _state = VcpuRunState.Running;
            if (_thread is null)
            {
                _thread = new Thread(Loop) { Name = $"vcpu-{Id}", IsBackground = true };
                _thread.Start();
            }
            else
                Monitor.PulseAll(_gate);
            return VcpuRequestResult.Ok;
        }
    }

    /// <summary>Gets the vCPU out of Run and parks it; returns once it is parked (or finished on the way).
    /// Allowed only in Running. On the vCPU's own thread it only records the request.</summary>
    public VcpuRequestResult Pause()
    {
        lock (_gate)
        {
            if (_state != VcpuRunState.Running || _request != Request.None)
                return VcpuRequestResult.NotAllowed($"vcpu {Id} cannot pause: it is {Describe()}");
            _request = Request.Pause;
            Monitor.PulseAll(_gate); // ends a throttle sleep (ThrottlePercent) at once
        }
        Vcpu.Kick();
        if (_current == this) return VcpuRequestResult.Ok;
        lock (_gate)
        {
            while (_state == VcpuRunState.Running) Monitor.Wait(_gate);
            return VcpuRequestResult.Ok;
        }
    }

    /// <summary>Lets a paused vCPU run again. Allowed only in Paused.</summary>
    public VcpuRequestResult Resume()
    {
        lock (_gate)
        {
            if (_state != VcpuRunState.Paused)
                return VcpuRequestResult.NotAllowed($"vcpu {Id} cannot resume: it is {Describe()}");
            _request = Request.None;
            _state = VcpuRunState.Running;
            Monitor.PulseAll(_gate);
            return VcpuRequestResult.Ok;
        }
    }

    /// <summary>Ends the vCPU with a <see cref="MachineExitKind.Stopped"/> exit. From Created it finishes at once;
    /// from Running or Paused it returns once the thread has finished, unless called on the vCPU's own thread
    /// (or with <paramref name="wait"/> false), where it only records the request. Not allowed once Finished.</summary>
    public VcpuRequestResult Stop(bool wait = true)
    {
        MachineExit? finishedNow = null;
        lock (_gate)
        {
            switch (_state)
            {
                case VcpuRunState.Finished:
                    return VcpuRequestResult.NotAllowed($"vcpu {Id} cannot stop: it has finished ({_exit?.Reason})");
                case VcpuRunState.Created:
                    finishedNow = FinishLocked(new MachineExit(MachineExitKind.Stopped, null, "stopped before it started", Id));
                    break;
                default:
                    _request = Request.Stop;
                    Monitor.PulseAll(_gate);
                    break;
            }
        }
        if (finishedNow is not null)
        {
            Finished?.Invoke(this, finishedNow);
            return VcpuRequestResult.Ok;
        }
        Vcpu.Kick();
        if (wait && _current != this) Join();
        return VcpuRequestResult.Ok;
    }

    /// <summary>Waits until the vCPU has finished (or, for one never started, returns at once).</summary>
    public void Join()
    {
        lock (_gate)
        {
            if (_thread is null) return;
            while (_state != VcpuRunState.Finished) Monitor.Wait(_gate);
        }
    }

    /// <summary>Waits until the vCPU has finished or <paramref name="timeout"/> passes; true when finished.</summary>
    public bool Join(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (_state != VcpuRunState.Finished)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_gate, left);
            }
            return true;
        }
    }

    private string Describe() => _request switch
    {
        Request.Pause when _state == VcpuRunState.Running => "pausing",
        Request.Stop when _state != VcpuRunState.Finished => "stopping",
        _ => _state.ToString(),
    };

    private void Loop()
    {
        _current = this;
        lock (_gate)
        {
            // A prepared thread waits here for Start; a Stop before it finished the vCPU already (nothing to report).
            while (_state == VcpuRunState.Created) Monitor.Wait(_gate);
            if (_state == VcpuRunState.Finished) return;
        }
        MachineExit exit;
        try
        {
            exit = RunUntilFinished();
        }
        catch (Exception e)
        {
            exit = new MachineExit(MachineExitKind.InternalError, null, $"vcpu {Id} failed: {e.Message}", Id);
        }
        MachineExit final;
        lock (_gate) final = FinishLocked(exit);
        Finished?.Invoke(this, final);
    }

    private MachineExit RunUntilFinished()
    {
        while (true)
        {
            if (_request != Request.None && ParkOrStop() is { } stopped) return stopped;

            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            var e = Vcpu.Run();
            if (_throttlePercent > 0) Throttle(System.Diagnostics.Stopwatch.GetTimestamp() - started);
            switch (e.Kind)
            {
                case VcpuExitKind.IoIn:
                    Vcpu.CompleteRead(_bus.PortRead(e.Port, e.Size));
                    break;
                case VcpuExitKind.IoOut:
                    _bus.PortWrite(e.Port, e.Size, e.Data);
                    break;
                case VcpuExitKind.MmioRead:
                    Vcpu.CompleteRead(_bus.MmioRead(e.Address, e.Size));
                    break;
                case VcpuExitKind.MmioWrite:
                    _bus.MmioWrite(e.Address, e.Size, e.Data);
                    break;
                case VcpuExitKind.Interrupted:
                    break;
                case VcpuExitKind.Hlt:
                    return new MachineExit(MachineExitKind.Halted, null, $"vcpu {Id} halted with interrupts disabled", Id);
                case VcpuExitKind.Shutdown:
                    return new MachineExit(MachineExitKind.Shutdown, null, $"vcpu {Id} shut down: {e.Reason ?? "triple fault"}", Id);
                case VcpuExitKind.InternalError:
                    return new MachineExit(MachineExitKind.InternalError, null, $"vcpu {Id}: {e}", Id);
                default:
                    return new MachineExit(MachineExitKind.InternalError, null, $"vcpu {Id}: {e}", Id);
            }
        }
    }

    private void Throttle(long ranTicks)
    {
        int percent = _throttlePercent;
        _throttleDebt += ranTicks * percent / (100 - percent);
        long ms = _throttleDebt * 1000 / System.Diagnostics.Stopwatch.Frequency;
        if (ms < 1) return;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (_gate)
            if (_request == Request.None) Monitor.Wait(_gate, (int)Math.Min(ms, 1000));
        _throttleDebt = Math.Max(0, _throttleDebt - (System.Diagnostics.Stopwatch.GetTimestamp() - start));
    }

    /// <summary>Parks while a pause is requested; the Stopped exit when a stop is requested, else null.</summary>
    private MachineExit? ParkOrStop()
    {
        lock (_gate)
        {
            if (_request == Request.Pause)
            {
                _state = VcpuRunState.Paused;
                Monitor.PulseAll(_gate);
                while (_state == VcpuRunState.Paused && _request == Request.Pause) Monitor.Wait(_gate);
            }
            return _request == Request.Stop ? new MachineExit(MachineExitKind.Stopped, null, "stopped by the VMM", Id) : null;
        }
    }

    private MachineExit FinishLocked(MachineExit exit)
    {
        _state = VcpuRunState.Finished;
        _exit = exit;
        _request = Request.None;
        Monitor.PulseAll(_gate);
        return exit;
    }
}
