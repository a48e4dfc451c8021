using Cluster.Node.Http.History;

namespace Cluster.Node.Tests.Http.History;

public sealed class SeriesRingTests
{
    [Fact]
    public void Keeps_the_newest_samples_oldest_first_once_full()
    {
        var ring = new SeriesRing(["a", "b"], 3);
        for (var i = 1; i <= 5; i++)
            ring.Add(i * 1000, [i, i * 10]);
        var (at, series) = ring.Read();
        Assert.Equal(3, ring.Count);
        Assert.Equal([3000L, 4000, 5000], at);
        Assert.Equal([3.0, 4, 5], series["a"].Select(v => v!.Value));
        Assert.Equal([30.0, 40, 50], series["b"].Select(v => v!.Value));
    }

    [Fact]
    public void Reads_a_missing_value_as_null_and_a_partial_ring_from_its_start()
    {
        var ring = new SeriesRing(["cpu"], 360);
        ring.Add(1, [0.25]);
        ring.Add(2, [double.NaN]);
        var (at, series) = ring.Read();
        Assert.Equal([1L, 2], at);
        Assert.Equal([0.25, null], series["cpu"]);
    }

    [Fact]
    public void Refuses_a_sample_with_the_wrong_number_of_values()
    {
        var ring = new SeriesRing(["a", "b"], 2);
        Assert.Contains("1 values for 2 series (a, b)", Assert.Throws<ArgumentException>(() => ring.Add(1, [1.0])).Message);
    }
}
