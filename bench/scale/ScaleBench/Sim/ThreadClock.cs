using System.Runtime.InteropServices;

namespace ScaleBench.Sim;

/// <summary>The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): what a single-threaded step cost, whatever else runs.</summary>
public static class ThreadClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // SAFETY: clock_gettime writes one timespec into the struct passed by reference; the clock id is a constant Linux defines.
    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>CPU milliseconds this thread has used.</summary>
    public static double Ms()
    {
        ClockGetTime(ClockThreadCpuTimeId, out var t);
        return t.Seconds * 1000.0 + t.Nanoseconds / 1e6;
    }
}
