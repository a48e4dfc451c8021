using System.Diagnostics;

namespace Cluster.Vmm.Hypervisor;

/// <summary>
/// The guest CPU time of one vCPU: the time its <see cref="IVcpu.Run"/> calls took, the call in progress
/// included, so that a guest that seldom exits (a busy loop between two console lines) shows its time at every
/// reading rather than in bursts when it exits. The emulator leaves the clock while a halted vCPU waits for an
/// interrupt inside Run, so an idle guest reads idle; KVM's in-kernel halt cannot be told apart from guest mode
/// and counts. The vCPU thread enters and leaves; any thread reads.
/// </summary>
internal sealed class GuestClock
{
    private readonly Lock _gate = new();
    private long _ticks;
    private long _since;

    /// <summary>A Run call begins.</summary>
    public void Enter()
    {
        lock (_gate)
            _since = Stopwatch.GetTimestamp();
    }

    /// <summary>The Run call ends.</summary>
    public void Leave()
    {
        lock (_gate)
        {
            if (_since != 0)
                _ticks += Stopwatch.GetTimestamp() - _since;
            _since = 0;
        }
    }

    /// <summary>The time in Run so far.</summary>
    public TimeSpan Elapsed
    {
        get
        {
            lock (_gate)
                return Stopwatch.GetElapsedTime(0, _ticks + (_since != 0 ? Stopwatch.GetTimestamp() - _since : 0));
        }
    }
}
