using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>Guest memory of one slot at guest-physical 0, released with the object.</summary>
internal sealed class TestMemory : IDisposable
{
    private readonly HostMemory _host;

    public TestMemory(ulong bytes, MemoryRegionFlags flags = MemoryRegionFlags.None)
    {
        _host = HostMemory.Allocate(bytes);
        Memory.SetRegion(0, 0, _host, flags, 1);
        Size = bytes;
    }

    public GuestMemory Memory { get; } = new();
    public ulong Size { get; }

    public void Dispose() => _host.Dispose();
}
