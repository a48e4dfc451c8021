using System.Diagnostics;
using System.Globalization;

namespace Cluster.Vmm.Worker;

/// <summary>
/// Where a worker's guest really executed: a line <c>VM start|end NS EPOCH PID</c> is appended to a file each time the
/// machine lets its vCPUs run and once none runs any more (<see cref="Machine.Machine.RunningChanged"/>: start, resume,
/// pause, a lapsed permit, stop-and-copy, exit). NS is the monotonic clock in nanoseconds, the clock of the node's own run log,
/// so intervals of every process on one machine compare. Checkers that a VM never runs in two places read it: unlike the
/// node's log, it holds while the node is stopped or killed and its workers run on. Appends are single small writes
/// (O_APPEND), so several workers share one file; a write that fails is ignored (the guest never waits on it).
/// </summary>
internal sealed class WorkerRunLog(string path)
{
    private readonly Lock _gate = new();

    /// <summary>Nanoseconds of the monotonic clock (CLOCK_MONOTONIC on Linux).</summary>
    public static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Records that <paramref name="vmId"/> (under <paramref name="epoch"/>) starts or stops running.</summary>
    public void Write(string vmId, long epoch, bool running)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{vmId} {(running ? "start" : "end")} {NowNs()} {epoch} {Environment.ProcessId}\n");
        try
        {
            lock (_gate)
                File.AppendAllText(path, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A diagnostic file: the guest runs on without it.
        }
    }
}
