using Cluster.Contracts.Validation;

namespace Cluster.Contracts.Tests.Validation;

public sealed class MacTextTests
{
    [Fact]
    public void A_generated_mac_is_unicast_locally_administered_and_stable_for_the_vm_and_index()
    {
        var mac = MacText.Generate("web-1", 0);
        var bytes = MacText.Parse(mac)!;
        Assert.Equal(0, bytes[0] & 1);
        Assert.True(MacText.IsLocallyAdministered(mac));
        Assert.Null(MacText.Problem(mac));
        Assert.Equal(mac, MacText.Generate("web-1", 0));
        Assert.NotEqual(mac, MacText.Generate("web-1", 1));
        Assert.NotEqual(mac, MacText.Generate("web-2", 0));
        Assert.NotEqual(mac, MacText.Generate("web-1", 0, attempt: 1));
        Assert.Matches("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", mac);
    }

    [Fact]
    public void Normalizes_dashes_and_upper_case() => Assert.Equal("52:54:00:ab:cd:ef", MacText.Normalize("52-54-00-AB-CD-EF"));
}
