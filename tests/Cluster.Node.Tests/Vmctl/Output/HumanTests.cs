using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Output;

public class HumanTests
{
    [Theory]
    [InlineData(0.0, "[..........]")]
    [InlineData(0.44, "[####......]")]
    [InlineData(1.7, "[##########]")]
    [InlineData(-1.0, "[..........]")]
    public void Draws_a_bar_filled_to_the_fraction_clamped(double fraction, string bar) => Assert.Equal(bar, Human.Bar(fraction, 10));

    [Theory]
    [InlineData(300.0, "300 B")]
    [InlineData(1536.0, "1.5 KiB")]
    [InlineData(3221225472.0, "3.0 GiB")]
    [InlineData(-1.0, "-")]
    public void Writes_sizes_in_binary_units(double bytes, string text) => Assert.Equal(text, Human.Bytes(bytes));

    [Theory]
    [InlineData(-1.0, "-")]
    [InlineData(850.0, "850 ms")]
    [InlineData(12345.0, "12.3 s")]
    [InlineData(125000.0, "2m05s")]
    public void Writes_durations_short(double ms, string text) => Assert.Equal(text, Human.Duration(ms));
}
