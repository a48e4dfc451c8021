using System.Runtime.InteropServices;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Kvm;

/// <summary>Copies blittable kernel structs to and from the named byte blobs of <see cref="VcpuState"/> and <see cref="VmState"/>.</summary>
internal static class Blob
{
    public static byte[] From<T>(in T value) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    public static T To<T>(VcpuState state, string name) where T : unmanaged => To<T>(state.Blobs, name, $"vCPU {state.Id}");

    public static T To<T>(VmState state, string name) where T : unmanaged => To<T>(state.Blobs, name, "VM");

    private static unsafe T To<T>(Dictionary<string, byte[]> blobs, string name, string owner) where T : unmanaged
    {
        if (!blobs.TryGetValue(name, out var bytes))
            throw new VmmException($"{owner} state has no '{name}' part", "restore");
        if (bytes.Length != sizeof(T))
            throw new VmmException($"{owner} state part '{name}' has {bytes.Length} bytes, expected {sizeof(T)}", "restore");
        // SAFETY: T is unmanaged (any bit pattern is a valid value) and the length was checked to be sizeof(T).
        return MemoryMarshal.Read<T>(bytes);
    }
}
