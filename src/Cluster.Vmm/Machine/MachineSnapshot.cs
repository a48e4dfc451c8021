using Cluster.Vmm.Devices;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Machine;

/// <summary>
/// Everything of a paused machine except its memory: the state of every vCPU, the VM-wide state
/// (interrupt controllers, timer, clock) and one named, versioned section per device, with the shape it needs
/// (vCPU count, memory size, backend). <see cref="ToBytes"/> and <see cref="FromBytes"/> give it a
/// versioned binary form for migration (see <see cref="MachineSnapshotCodec"/>).
/// </summary>
public sealed record MachineSnapshot(
    BackendKind Backend,
    int VcpuCount,
    ulong MemoryBytes,
    IReadOnlyList<VcpuState> Vcpus,
    VmState Vm,
    IReadOnlyList<DeviceSection> Devices)
{
    /// <summary>The snapshot as bytes.</summary>
    public byte[] ToBytes() => MachineSnapshotCodec.Encode(this);

    /// <summary>A snapshot from <see cref="ToBytes"/>.</summary>
    /// <exception cref="VmmException">the bytes are not a snapshot, are truncated, or of another version.</exception>
    public static MachineSnapshot FromBytes(ReadOnlySpan<byte> bytes) => MachineSnapshotCodec.Decode(bytes);
}
