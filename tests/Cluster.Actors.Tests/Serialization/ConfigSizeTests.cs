using Akka.Configuration;
using Cluster.Actors.Clustering;
using Cluster.Contracts.Validation;
using Cluster.Serialization;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Actors.Tests.Serialization;

/// <summary>HOCON sizes read with the grammar of every other surface (SizeText), not Akka's GetByteSize.</summary>
public class ConfigSizeTests
{
    private static Config Hocon(string text) => ConfigurationFactory.ParseString(text);

    [Theory]
    [InlineData("65536", 65536UL)]
    [InlineData("64MB", 64UL << 20)]
    [InlineData("64M", 64UL << 20)]
    [InlineData("64MiB", 64UL << 20)]
    [InlineData("2G", 2UL << 30)]
    [InlineData("512K", 512UL << 10)]
    public void A_size_in_hocon_means_what_it_means_to_vmctl(string text, ulong bytes)
    {
        Assert.Equal(bytes, ConfigSize.Get(Hocon($"a.size = \"{text}\""), "a.size"));
        Assert.True(SizeText.TryParse(text, out var same));
        Assert.Equal(same, bytes);
    }

    [Fact]
    public void Generated_sizes_agree_with_sizetext_unquoted_too()
    {
        var random = new Random(7);
        string[] units = ["", "B", "K", "KiB", "M", "MiB", "G", "GiB"];
        for (var i = 0; i < 300; i++)
        {
            var text = $"{random.Next(1, 4096)}{units[random.Next(units.Length)]}";
            Assert.True(SizeText.TryParse(text, out var expected));
            Assert.Equal(expected, ConfigSize.Get(Hocon($"a.size = {text}"), "a.size"));
        }
    }

    [Fact]
    public void An_absent_key_gives_the_fallback_and_a_bad_value_names_the_key()
    {
        Assert.Equal(5UL, ConfigSize.Get(Hocon("a.other = 1"), "a.size", 5));
        Assert.Null(ConfigSize.Get(Config.Empty, "a.size"));
        var e = Assert.Throws<ConfigurationException>(() => ConfigSize.Get(Hocon("a.size = 12X"), "a.size"));
        Assert.Contains("a.size = '12X'", e.Message);
    }

    [Fact]
    public void The_hosts_memory_offer_reads_the_same_grammar() =>
        Assert.Equal(64UL << 20, HostCapacity.From(Hocon("cluster-hypervisor.host.memory = 64MB"), new CpuModel("test", [])).MemoryBytes);
}
