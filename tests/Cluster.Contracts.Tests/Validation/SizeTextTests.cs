using Cluster.Contracts.Validation;

namespace Cluster.Contracts.Tests.Validation;

public class SizeTextTests
{
    [Theory]
    [InlineData("2097152", 2097152UL)]
    [InlineData("0", 0UL)]
    [InlineData("500K", 500UL << 10)]
    [InlineData("64M", 64UL << 20)]
    [InlineData("64MiB", 64UL << 20)]
    [InlineData("64mb", 64UL << 20)]
    [InlineData(" 1G ", 1UL << 30)]
    public void Reads_bytes_and_binary_suffixes(string text, ulong bytes)
    {
        Assert.True(SizeText.TryParse(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-1M")]
    [InlineData("1.5G")]
    [InlineData("17179869184G")]
    public void Refuses_what_is_not_a_size_or_overflows(string text) => Assert.False(SizeText.TryParse(text, out _));
}
