using Cluster.Vmm.Migration;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

public class XbzrleTests
{
    [Theory]
    [InlineData(1, 0.001)]
    [InlineData(2, 0.01)]
    [InlineData(3, 0.1)]
    [InlineData(4, 0.3)]
    public void Random_page_pairs_round_trip_exactly(int seed, double changeProbability)
    {
        var random = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            var previous = new byte[4096];
            random.NextBytes(previous);
            var current = (byte[])previous.Clone();
            for (int i = 0; i < current.Length; i++)
                if (random.NextDouble() < changeProbability) current[i] = (byte)random.Next(256);
            var delta = new byte[8192];
            int n = Xbzrle.Encode(previous, current, delta);
            Assert.True(n >= 0);
            var page = (byte[])previous.Clone();
            Xbzrle.Decode(delta.AsSpan(0, n), page);
            Assert.Equal(current, page);
        }
    }

    [Fact]
    public void A_one_byte_change_costs_three_bytes()
    {
        var previous = new byte[4096];
        var current = new byte[4096];
        current[1000] = 7;
        var delta = new byte[64];
        Assert.Equal(new byte[] { 0xe8, 0x07, 1, 7 }, delta.AsSpan(0, Xbzrle.Encode(previous, current, delta)).ToArray());
    }

    [Fact]
    public void Gives_up_when_the_delta_does_not_fit()
    {
        var random = new Random(5);
        var previous = new byte[4096];
        var current = new byte[4096];
        random.NextBytes(current);
        Assert.Equal(-1, Xbzrle.Encode(previous, current, new byte[2048]));
    }

    [Fact]
    public void Refuses_a_delta_that_runs_past_the_page()
    {
        var page = new byte[4096];
        Assert.Throws<VmmException>(() => Xbzrle.Decode([0xff, 0x1f, 2, 1, 1], page));
    }
}
