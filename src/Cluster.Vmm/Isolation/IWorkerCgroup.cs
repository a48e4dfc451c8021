namespace Cluster.Vmm.Isolation;

/// <summary>The group that contains one worker process: what the node does with it once made.</summary>
public interface IWorkerCgroup
{
    /// <summary>The worker's name, the last segment of the group's path (a VM id).</summary>
    string Name { get; }

    /// <summary>Moves a process, with all its threads, into the group (in every hierarchy).</summary>
    void AddProcess(int pid);

    /// <summary>The ids of the processes in the group.</summary>
    IReadOnlyList<int> Processes();

    /// <summary>The limits as the kernel holds them now.</summary>
    CgroupLimits Limits();

    /// <summary>Replaces the limits (a VM resized, or a group found again after a node restart).</summary>
    void SetLimits(CgroupLimits limits);

    /// <summary>What the group has used.</summary>
    CgroupUsage Usage();

    /// <summary>
    /// Removes the group once its processes are gone, waiting up to <paramref name="wait"/> (default 2 s) for
    /// them to leave; it moves and kills nothing. False when processes remained, true once removed (or already gone).
    /// </summary>
    bool Delete(TimeSpan? wait = null);
}
