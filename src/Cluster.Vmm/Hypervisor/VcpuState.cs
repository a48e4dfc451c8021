namespace Cluster.Vmm.Hypervisor;

/// <summary>
/// The whole state of one paused vCPU, enough to resume it in another VM of the same backend
/// kind. Backend-specific parts (FPU/XSAVE, XCRs, local APIC, pending events, the emulator's
/// internal state) travel as named opaque blobs in <see cref="Blobs"/>.
/// </summary>
public sealed class VcpuState
{
    public required BackendKind Backend { get; init; }
    public required int Id { get; init; }
    public required Registers Registers { get; init; }
    public required SpecialRegisters SpecialRegisters { get; init; }
    public required MsrEntry[] Msrs { get; init; }
    public Dictionary<string, byte[]> Blobs { get; init; } = new();
}

/// <summary>VM-wide state of a paused VM: interrupt controllers, timer, clock, as named blobs.</summary>
public sealed class VmState
{
    public required BackendKind Backend { get; init; }
    public Dictionary<string, byte[]> Blobs { get; init; } = new();
}
