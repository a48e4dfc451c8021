namespace Cluster.Vmm.Machine;

/// <summary>Why a machine (or one of its vCPUs) stopped running guest code.</summary>
public enum MachineExitKind
{
    /// <summary>The guest wrote its exit status to the exit device.</summary>
    GuestExit,
    /// <summary>A shutdown exit: a triple fault or a shutdown request.</summary>
    Shutdown,
    /// <summary>HLT with interrupts disabled: nothing can wake the vCPU.</summary>
    Halted,
    /// <summary>The backend cannot go on: an unsupported instruction, garbage code, a failed entry, an unknown exit.</summary>
    InternalError,
    /// <summary>The VMM stopped it (<see cref="Machine.Stop"/>).</summary>
    Stopped,
}

/// <summary>How a machine ended: the kind, the guest's status for <see cref="MachineExitKind.GuestExit"/>, a reason in words, and the vCPU that ended it (-1 when none did).</summary>
public sealed record MachineExit(MachineExitKind Kind, int? ExitStatus, string Reason, int VcpuId);
