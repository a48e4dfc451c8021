using System.Diagnostics;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>Waiting for and killing VMM worker processes by pid (they are not this process's children after a node restart).</summary>
public static class WorkerProcesses
{
    /// <summary>Whether the process <paramref name="pid"/> ended within <paramref name="timeout"/>.</summary>
    public static bool WaitForExit(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Cluster.Vmm.Worker.WorkerDirectory.IsAlive(pid))
        {
            if (clock.Elapsed > timeout)
                return false;
            Thread.Sleep(10);
        }
        return true;
    }

    /// <summary>Kills <paramref name="pid"/> (SIGKILL) if it still runs.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
