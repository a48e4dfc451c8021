using Cluster.Contracts.Migration;
using Cluster.Vmctl.Cli;

namespace Cluster.Node.Tests.Vmctl;

public class MigrateOptionsTests
{
    private static MigrateVm? Parse(out string? error, params string[] args) =>
        MigrateOptions.Parse("a", CommandLine.Parse(["migrate", "a", .. args], out _)!, out error);

    [Fact]
    public void Reads_every_limit_with_bandwidth_in_bytes_per_second()
    {
        var m = Parse(out var error, "--to", "10.0.0.2:4053", "--downtime-ms", "150", "--bandwidth", "100M", "--mode", "postcopy", "--connections", "4");
        Assert.Null(error);
        Assert.Equal(new MigrationLimits(150, 100L << 20, MigrationStrategy.PostCopy, 4), m!.Limits);
        Assert.Equal(("a", "10.0.0.2:4053", MigrationTrigger.Operator), (m.VmId, m.TargetHost, m.Cause.Trigger));
    }

    [Theory]
    [InlineData("500K", 500L << 10)]
    [InlineData("1G", 1L << 30)]
    [InlineData("123456", 123456L)]
    [InlineData("0", 0L)]
    public void Reads_bandwidth_sizes_with_binary_suffixes(string text, long bytesPerSecond) =>
        Assert.Equal(bytesPerSecond, Parse(out _, "--to", "h:1", "--bandwidth", text)!.Limits.BandwidthBytesPerSecond);

    [Theory]
    [InlineData("precopy", MigrationStrategy.PreCopy)]
    [InlineData("PostCopy", MigrationStrategy.PostCopy)]
    [InlineData("auto", MigrationStrategy.Auto)]
    public void Reads_the_mode_in_any_case(string text, MigrationStrategy strategy) =>
        Assert.Equal(strategy, Parse(out _, "--to", "h:1", "--mode", text)!.Limits.Strategy);

    [Fact]
    public void Takes_the_default_limits_when_only_the_target_is_given() =>
        Assert.Equal(MigrationLimits.Default, Parse(out _, "--to", "h:1")!.Limits);

    [Theory]
    [InlineData(new[] { "--mode", "precopy" }, "needs --to HOST")]
    [InlineData(new[] { "--to", "h:1", "--mode", "warp" }, "bad --mode 'warp' (precopy, postcopy or auto)")]
    [InlineData(new[] { "--to", "h:1", "--bandwidth", "fast" }, "bad --bandwidth 'fast' (bytes per second")]
    [InlineData(new[] { "--to", "h:1", "--downtime-ms", "0" }, "bad --downtime-ms '0'")]
    [InlineData(new[] { "--to", "h:1", "--connections", "0" }, "bad --connections '0'")]
    public void Refuses_a_bad_option_with_a_message_naming_it(string[] args, string message)
    {
        Assert.Null(Parse(out var error, args));
        Assert.Contains(message, error);
    }
}
