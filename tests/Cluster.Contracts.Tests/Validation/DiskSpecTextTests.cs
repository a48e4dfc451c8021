using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Contracts.Tests.Validation;

public class DiskSpecTextTests
{
    [Fact]
    public void Reads_every_option()
    {
        var disk = DiskSpecText.Parse("path=/srv/a.qcow2,format=qcow2,readonly,cache=none,serial=abc-1", out var error);
        Assert.Null(error);
        Assert.Equal(new DiskSpec("/srv/a.qcow2", DiskImageFormat.Qcow2, true, DiskCache.None, "abc-1"), disk);
    }

    [Fact]
    public void Takes_a_bare_path_as_shorthand_with_defaults_writeback_read_write_and_probed_format() =>
        Assert.Equal(new DiskSpec("/srv/a.img"), DiskSpecText.Parse("/srv/a.img", out _));

    [Fact]
    public void Takes_a_bare_path_followed_by_options() =>
        Assert.Equal(new DiskSpec("/srv/a.img", DiskImageFormat.Raw, true), DiskSpecText.Parse("/srv/a.img,readonly,format=raw", out _));

    [Fact]
    public void Reads_a_doubled_comma_as_a_comma_in_the_path() =>
        Assert.Equal("/srv/a,b.img", DiskSpecText.Parse("path=/srv/a,,b.img,readonly", out _)?.Path);

    [Fact]
    public void Refuses_unknown_keys_naming_every_one_of_them()
    {
        Assert.Null(DiskSpecText.Parse("path=/srv/a.img,bus=scsi,discard=unmap", out var error));
        Assert.Contains("'bus'", error);
        Assert.Contains("'discard'", error);
    }

    [Fact]
    public void Refuses_an_unknown_format_naming_the_value()
    {
        Assert.Null(DiskSpecText.Parse("path=/srv/a.img,format=vmdk", out var error));
        Assert.Contains("'vmdk'", error);
    }

    [Fact]
    public void Refuses_an_unknown_cache_mode_naming_the_value()
    {
        Assert.Null(DiskSpecText.Parse("path=/srv/a.img,cache=unsafe", out var error));
        Assert.Contains("'unsafe'", error);
    }

    [Theory]
    [InlineData("format=raw")]
    [InlineData("path=")]
    [InlineData("readonly")]
    public void Refuses_a_disk_without_a_path(string text)
    {
        Assert.Null(DiskSpecText.Parse(text, out var error));
        Assert.Contains("no path", error);
    }

    [Fact]
    public void Refuses_a_key_given_twice() =>
        Assert.Null(DiskSpecText.Parse("path=/a,cache=none,cache=writeback", out _));

    [Theory]
    [InlineData("path=/srv/a.img")]
    [InlineData("path=/srv/a,,b.img,format=qcow2,readonly,cache=none,serial=x,,y")]
    public void Formats_a_disk_as_text_that_parses_back_to_it(string text)
    {
        var disk = DiskSpecText.Parse(text, out _)!;
        Assert.Equal(disk, DiskSpecText.Parse(DiskSpecText.Format(disk), out _));
    }
}
