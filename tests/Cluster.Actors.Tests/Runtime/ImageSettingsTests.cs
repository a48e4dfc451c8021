using Akka.Configuration;
using Cluster.Actors.Runtime;
using Xunit;

namespace Cluster.Actors.Tests.Runtime;

public sealed class ImageSettingsTests
{
    [Fact]
    public void By_default_only_the_data_directorys_images_folder_is_allowed()
    {
        var images = ImageSettings.From(ConfigurationFactory.ParseString("cluster-hypervisor.images.allowed-dirs = []"), "/var/lib/ch");
        Assert.Equal(["/var/lib/ch/images"], images.Directories);
        Assert.Equal(["/var/lib/ch/images"], ImageSettings.From(ConfigurationFactory.Empty, "/var/lib/ch").Directories);
    }

    [Fact]
    public void Configured_directories_are_added_to_the_images_folder()
    {
        var images = ImageSettings.From(ConfigurationFactory.ParseString("cluster-hypervisor.images.allowed-dirs = [\"/srv/images\", \"/mnt/shared/\"]"), "/d");
        Assert.Equal(["/d/images", "/srv/images", "/mnt/shared"], images.Directories);
    }
}
