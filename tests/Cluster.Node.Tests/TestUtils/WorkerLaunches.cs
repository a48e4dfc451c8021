using Cluster.Vmm.Worker;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>Teardown of the workers a test launched itself: each client closed, each process killed and reaped.</summary>
internal static class WorkerLaunches
{
    public static void KillAll(IEnumerable<WorkerLaunch> workers, TimeSpan wait)
    {
        foreach (var w in workers)
        {
            w.Client.Dispose();
            if (!w.Process.HasExited)
            {
                w.Process.Kill();
                w.Process.WaitForExit(wait);
            }
            w.Process.Dispose();
        }
    }
}
