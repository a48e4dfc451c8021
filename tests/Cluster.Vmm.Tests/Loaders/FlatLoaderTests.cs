using Cluster.Vmm.Loaders;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Loaders;

public class FlatLoaderTests
{
    private const ulong Mem = 4UL << 20;

    [Fact]
    public void Loads_the_bytes_at_the_load_address_which_is_the_entry()
    {
        using var m = new TestMemory(Mem);
        var image = FlatLoader.Load([0xeb, 0xfe], 0x180000, m.Memory, Mem);
        Assert.Equal(new LoadedImage(0x180000, 0x180000, 0x180002), image);
        Assert.Equal((ushort)0xfeeb, m.Memory.ReadU16(0x180000));
    }

    [Theory]
    [InlineData(0x1000UL, "reserved area")]
    [InlineData(0x3fffffUL, "outside guest memory")]
    public void Rejects_images_that_do_not_fit(ulong address, string message)
    {
        using var m = new TestMemory(Mem);
        Assert.Contains(message, Assert.Throws<VmmException>(() => FlatLoader.Load([1, 2], address, m.Memory, Mem)).Message);
    }

    [Fact]
    public void Rejects_an_empty_image()
    {
        using var m = new TestMemory(Mem);
        Assert.Contains("empty", Assert.Throws<VmmException>(() => FlatLoader.Load([], 0x100000, m.Memory, Mem)).Message);
    }
}
