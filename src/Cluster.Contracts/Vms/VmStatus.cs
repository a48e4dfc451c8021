namespace Cluster.Contracts.Vms;

/// <summary>The lifecycle status of a VM as the journal records it.</summary>
public enum VmStatus
{
    /// <summary>No VM with this id exists (never created, or deleted).</summary>
    Absent = 0,
    /// <summary>Created, never started.</summary>
    Defined = 1,
    /// <summary>Its vCPUs run.</summary>
    Running = 2,
    /// <summary>Its vCPUs are paused; memory and devices are kept.</summary>
    Paused = 3,
    /// <summary>Stopped by a command or by a clean guest exit.</summary>
    Stopped = 4,
    /// <summary>The guest failed (triple fault, internal error, non-zero exit) and was not restarted.</summary>
    Crashed = 5,
    /// <summary>Deleted: the id is gone.</summary>
    Deleted = 6,
}
