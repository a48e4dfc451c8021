using Cluster.Vmm.Machine;

namespace Cluster.Vmm.Worker;

/// <summary>
/// What a worker says about itself and its VM, with the console history: the last
/// <see cref="WorkerProtocol.ConsoleHistoryBytes"/> of serial output, starting at absolute byte
/// <see cref="ConsoleOffset"/>. A client that re-attaches joins it with the SerialOutput events that
/// follow by offset (dropping bytes it already has): there is no gap.
/// </summary>
public sealed record WorkerInfo
{
    /// <summary>The worker's name (its socket is NAME.sock).</summary>
    public required string Name { get; init; }
    /// <summary>The worker's process id.</summary>
    public int Pid { get; init; }
    /// <summary>The protocol version the worker speaks.</summary>
    public uint ProtocolVersion { get; init; }
    /// <summary>The VM's id; null while <see cref="WorkerVmState.Empty"/>.</summary>
    public string? VmId { get; init; }
    /// <summary>The ownership epoch given with the VM.</summary>
    public long Epoch { get; init; }
    /// <summary>The VM's state.</summary>
    public WorkerVmState State { get; init; }
    /// <summary>How the machine ended, once it has.</summary>
    public MachineExit? Exit { get; init; }
    /// <summary>Whether the run permit lapsed (the guest is held paused until renewed and resumed).</summary>
    public bool PermitLapsed { get; init; }
    /// <summary>Time left on the run permit; null when none is enforced.</summary>
    public TimeSpan? PermitRemaining { get; init; }
    /// <summary>The absolute offset of the first byte of <see cref="ConsoleHistory"/>.</summary>
    public long ConsoleOffset { get; init; }
    /// <summary>The most recent serial output.</summary>
    public byte[] ConsoleHistory { get; init; } = [];
    /// <summary>The absolute offset just past the history: every byte the guest has written.</summary>
    public long ConsoleEnd => ConsoleOffset + ConsoleHistory.Length;
}
