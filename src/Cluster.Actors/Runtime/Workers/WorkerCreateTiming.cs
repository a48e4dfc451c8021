namespace Cluster.Actors.Runtime.Workers;

/// <summary>Where one create of a worker-backed guest spent its time (<see cref="WorkerGuestRuntimeFactory.Created"/>).</summary>
/// <param name="VmId">The VM.</param>
/// <param name="Pid">Its worker's process id.</param>
/// <param name="FromPool">Whether the worker came from the warm pool (false: started for this create).</param>
/// <param name="Take">Taking the worker: a dequeue, or a whole process start when the pool was empty.</param>
/// <param name="Contain">Creating the worker's cgroup and moving it there (zero without cgroups).</param>
/// <param name="CreateRequest">The Create request's round trip (the worker builds the machine and loads the guest).</param>
public sealed record WorkerCreateTiming(string VmId, int Pid, bool FromPool, TimeSpan Take, TimeSpan Contain, TimeSpan CreateRequest);
