using System.Globalization;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Hypervisor;

/// <summary>
/// The guest CPU time of one vCPU: the CPU time its thread used inside <see cref="IVcpu.Run"/> calls, the call in
/// progress included, so that a guest that seldom exits (a busy loop between two console lines) shows its time at
/// every reading rather than in bursts when it exits. It is CPU time, not wall time: a vCPU halted inside Run (the
/// emulator waiting for an interrupt, KVM's in-kernel halt) blocks its thread and adds nothing, so an idle guest
/// reads idle. The vCPU thread enters and leaves; any thread reads (the call in progress from the kernel's
/// per-thread <c>schedstat</c>, the same sum as <c>CLOCK_THREAD_CPUTIME_ID</c>).
/// </summary>
internal sealed class GuestClock
{
    private readonly Lock _gate = new();
    private long _nanos;
    private long _enteredAt = -1;
    private int _tid;

    /// <summary>A Run call begins (on the vCPU thread).</summary>
    public void Enter()
    {
        var tid = _tid != 0 ? _tid : (int)Libc.syscall(Libc.SYS_gettid);
        var now = ThreadCpuNanos();
        lock (_gate)
        {
            _tid = tid;
            _enteredAt = now;
        }
    }

    /// <summary>The Run call ends (on the vCPU thread).</summary>
    public void Leave()
    {
        var now = ThreadCpuNanos();
        lock (_gate)
        {
            if (_enteredAt >= 0)
                _nanos += Math.Max(0, now - _enteredAt);
            _enteredAt = -1;
        }
    }

    /// <summary>The CPU time used in Run so far.</summary>
    public TimeSpan Elapsed
    {
        get
        {
            long nanos, enteredAt;
            int tid;
            lock (_gate)
                (nanos, enteredAt, tid) = (_nanos, _enteredAt, _tid);
            if (enteredAt >= 0 && ReadSchedstatNanos(tid) is { } now)
                nanos += Math.Max(0, now - enteredAt);
            return TimeSpan.FromTicks(nanos / 100);
        }
    }

    /// <summary>The calling thread's CPU time in nanoseconds.</summary>
    private static long ThreadCpuNanos() =>
        Libc.clock_gettime(Libc.CLOCK_THREAD_CPUTIME_ID, out var t) == 0 ? t.Seconds * 1_000_000_000 + t.Nanoseconds : 0;

    /// <summary>The CPU time of thread <paramref name="tid"/> of this process, or null when it cannot be read (the thread ended).</summary>
    private static long? ReadSchedstatNanos(int tid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/self/task/{tid}/schedstat");
            var end = text.IndexOf(' ', StringComparison.Ordinal);
            return long.TryParse(end > 0 ? text[..end] : text, NumberStyles.None, CultureInfo.InvariantCulture, out var ns) ? ns : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
