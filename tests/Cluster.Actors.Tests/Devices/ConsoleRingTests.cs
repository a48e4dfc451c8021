using Cluster.Actors.Devices;

namespace Cluster.Actors.Tests.Devices;

public class ConsoleRingTests
{
    [Fact]
    public void Keeps_only_the_last_capacity_bytes_across_wraps()
    {
        var ring = new ConsoleRing(8);
        ring.Append("abcde"u8);
        ring.Append("fghij"u8);
        Assert.Equal("cdefghij"u8.ToArray(), ring.Tail(100));
        Assert.Equal("hij"u8.ToArray(), ring.Tail(3));
    }

    [Fact]
    public void A_chunk_larger_than_the_ring_keeps_its_end()
    {
        var ring = new ConsoleRing(4);
        ring.Append("x"u8);
        ring.Append("0123456789"u8);
        Assert.Equal("6789"u8.ToArray(), ring.Tail(4));
    }

    [Fact]
    public void An_empty_ring_has_an_empty_tail() => Assert.Empty(new ConsoleRing(4).Tail(4));
}
