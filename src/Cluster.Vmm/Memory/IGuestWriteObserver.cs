namespace Cluster.Vmm.Memory;

/// <summary>
/// Told of every write that the VMM makes into guest memory outside a vCPU (device DMA, loaders,
/// migration). The emulated backend uses it to drop cached decoded code of the written pages.
/// </summary>
public interface IGuestWriteObserver
{
    void OnGuestWrite(ulong gpa, ulong length);
}
