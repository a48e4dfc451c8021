using System.Diagnostics;

namespace Cluster.Vmm.Worker;

/// <summary>A worker process just started by <see cref="WorkerLauncher"/>, with its connected client.</summary>
/// <param name="Client">The connected client (Hello done).</param>
/// <param name="Process">The worker process (its exit code is readable here; disposing it does not end it).</param>
/// <param name="SocketPath">Its control socket.</param>
public sealed record WorkerLaunch(WorkerClient Client, Process Process, string SocketPath)
{
    /// <summary>The worker's process id.</summary>
    public int Pid => Process.Id;
}
