using Cluster.Vmm.Worker;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>The VMM workers of a node's data folder (its runtime directory, DATA/run), as the node's records say.</summary>
internal static class WorkerRecords
{
    /// <summary>VM id -> worker pid, for the workers that run a VM.</summary>
    public static Dictionary<string, int> Of(string dataDirectory) =>
        WorkerDirectory.Scan(Path.Combine(dataDirectory, "run")).Where(r => r.VmId is not null).ToDictionary(r => r.VmId!, r => r.Pid);

    /// <summary>Kills every worker recorded under <paramref name="root"/> (any depth): workers outlive their nodes by design.</summary>
    public static void KillAll(string root)
    {
        if (!Directory.Exists(root))
            return;
        foreach (var run in Directory.EnumerateDirectories(root, "run", SearchOption.AllDirectories))
            foreach (var record in WorkerDirectory.Scan(run))
                Kill(record.Pid);
    }

    /// <summary>SIGKILL to <paramref name="pid"/>, if it runs.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(5000);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>Whether <paramref name="pid"/> still runs.</summary>
    public static bool Alive(int pid) => WorkerDirectory.IsAlive(pid);
}
