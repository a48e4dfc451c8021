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
    [InlineData("2TiB", 2UL << 40)]
    [InlineData("7B", 7UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
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
    [InlineData("18446744073709551616")]
    [InlineData("64BB")]
    [InlineData("64iB")]
    [InlineData("1P")]
    public void Refuses_what_is_not_a_size_or_overflows(string text) => Assert.False(SizeText.TryParse(text, out _));

    /// <summary>Every unit spelling in every case, with numbers at the edges of what fits.</summary>
    public static TheoryData<string, ulong> Generated()
    {
        var data = new TheoryData<string, ulong>();
        var units = new (string[] Names, int Shift)[]
        {
            (["", "B", "b"], 0), (["K", "k", "KB", "kb", "KiB", "kib"], 10), (["M", "m", "MB", "MiB", "mib"], 20),
            (["G", "g", "GB", "GiB", "gIb"], 30), (["T", "t", "TB", "TiB", "tib"], 40),
        };
        var random = new Random(16);
        foreach (var (names, shift) in units)
        {
            var max = ulong.MaxValue >> shift;
            foreach (var name in names)
                foreach (var n in new[] { 0UL, 1UL, max, (ulong)random.NextInt64(1, long.MaxValue) % max + 1 })
                    data.Add($"{n}{name}", n << shift);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Generated))]
    public void Reads_every_unit_spelling_up_to_the_largest_size_that_fits(string text, ulong bytes)
    {
        Assert.True(SizeText.TryParse(text, out var parsed, out var error), error);
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("K", 10)]
    [InlineData("MiB", 20)]
    [InlineData("G", 30)]
    [InlineData("TB", 40)]
    public void Refuses_one_past_the_largest_size_of_each_unit(string unit, int shift)
    {
        Assert.False(SizeText.TryParse($"{(ulong.MaxValue >> shift) + 1}{unit}", out _, out var error));
        Assert.Contains("too large", error);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("-64M", "no sign")]
    [InlineData("+64M", "no sign")]
    [InlineData("1.5G", "whole number")]
    [InlineData("lots", "not a size")]
    [InlineData("64 furlongs", "unknown unit 'furlongs'")]
    [InlineData("99999999999999999999", "too large")]
    public void Says_why_a_text_is_not_a_size(string text, string reason)
    {
        Assert.False(SizeText.TryParse(text, out _, out var error));
        Assert.Contains(reason, error);
    }
}
