using System.Text.Json;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Node.Http;

namespace Cluster.Node.Tests.Http;

public class MigrationJsonTests
{
    private static MigrateVm? Migrate(string json, out string? error) =>
        MigrationJson.ParseMigrate("a", JsonDocument.Parse(json).RootElement, out error);

    [Fact]
    public void Reads_a_migration_with_every_limit()
    {
        var m = Migrate("""{"to":"h2:1","downtimeMs":150,"bandwidth":"100M","mode":"precopy","connections":3}""", out var error);
        Assert.Null(error);
        Assert.Equal(("a", "h2:1"), (m!.VmId, m.TargetHost));
        Assert.Equal(new MigrationLimits(150, 100L << 20, MigrationStrategy.PreCopy, 3), m.Limits);
        Assert.Equal(MigrationTrigger.Operator, m.Cause.Trigger);
    }

    [Fact]
    public void Takes_bandwidth_as_a_number_of_bytes_and_defaults_for_the_rest()
    {
        var m = Migrate("""{"to":"h2:1","bandwidth":1000}""", out _);
        Assert.Equal(MigrationLimits.Default with { BandwidthBytesPerSecond = 1000 }, m!.Limits);
    }

    [Theory]
    [InlineData("""{"downtimeMs":100}""", "'to' is required")]
    [InlineData("""{"to":"h2:1","mode":"warp"}""", "'mode' must be precopy, postcopy or auto, not 'warp'")]
    [InlineData("""{"to":"h2:1","bandwidth":"fast"}""", "'bandwidth' must be bytes: a number or a size")]
    [InlineData("""{"to":"h2:1","connections":0}""", "'connections' must be 1 or more")]
    [InlineData("""{"to":"h2:1","speed":1}""", "unknown field 'speed'")]
    [InlineData("""{"to":5}""", "'to' must be a string")]
    public void Refuses_bad_migrations_naming_the_field(string json, string message)
    {
        Assert.Null(Migrate(json, out var error));
        Assert.Contains(message, error);
    }

    [Fact]
    public void Reads_the_rebalancer_mode_and_refuses_an_unknown_one()
    {
        Assert.Equal(new SetRebalanceMode(RebalanceMode.Automatic),
            MigrationJson.ParseRebalanceMode(JsonDocument.Parse("""{"mode":"automatic"}""").RootElement, out _));
        Assert.Null(MigrationJson.ParseRebalanceMode(JsonDocument.Parse("""{"mode":"fast"}""").RootElement, out var error));
        Assert.Contains("'mode' must be off, recommend or automatic, not 'fast'", error);
    }
}
