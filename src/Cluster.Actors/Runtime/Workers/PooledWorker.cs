using Cluster.Vmm.Isolation;
using Cluster.Vmm.Worker;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>A worker taken from the <see cref="WorkerPool"/>: started, connected, and already in its cgroup where the host allows.</summary>
/// <param name="Launch">The worker and its connected client.</param>
/// <param name="Cgroup">Its cgroup, made while it waited in the pool with idle limits (the create writes the VM's); null without one.</param>
public sealed record PooledWorker(WorkerLaunch Launch, IWorkerCgroup? Cgroup);
