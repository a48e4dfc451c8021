namespace Cluster.Vmm.Machine;

/// <summary>The life of a machine: Created -> Running &lt;-> Paused -> Finished.</summary>
public enum MachineRunState
{
    /// <summary>Created (and possibly restored), no vCPU started.</summary>
    Created,
    /// <summary>vCPUs running.</summary>
    Running,
    /// <summary>Every vCPU out of Run and parked; state may be saved.</summary>
    Paused,
    /// <summary>Every vCPU finished; <see cref="Machine.Exit"/> says why.</summary>
    Finished,
}
