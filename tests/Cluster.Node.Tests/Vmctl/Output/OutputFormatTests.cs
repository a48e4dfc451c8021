using System.Text.Json.Nodes;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Output;

public class OutputFormatTests
{
    private static readonly DateTime At = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static readonly VmList Vms = new(
    [
        new VmInfo(CannedClient.Spec("a") with { Labels = new Dictionary<string, string> { ["zone"] = "x" } }, VmStatus.Running, 0, At, "started", "h1:1"),
        new VmInfo(CannedClient.Spec("b"), VmStatus.Stopped, 1, At, "stopped by command", "h2:1"),
    ]);

    private static string Print(object reply, OutputFormat format, bool noHeaders = false)
    {
        var stdout = new StringWriter();
        Assert.Equal(ExitCodes.Ok, Replies.Print(reply, new Printer(stdout, format, noHeaders), TextWriter.Null));
        return stdout.ToString();
    }

    [Fact]
    public void Yaml_says_what_json_says()
    {
        var json = JsonNode.Parse(Print(Vms, OutputFormat.Json));
        var yaml = YamlReader.Read(Print(Vms, OutputFormat.Yaml));
        Assert.True(JsonNode.DeepEquals(json, yaml), $"{json}\n---\n{yaml}");
        Assert.Contains("- id: a\n", Print(Vms, OutputFormat.Yaml));
    }

    [Fact]
    public void Wide_adds_columns_and_no_headers_leaves_out_the_header_line()
    {
        var table = Print(Vms, OutputFormat.Table).Split('\n')[0];
        var wide = Print(Vms, OutputFormat.Wide).Split('\n');
        Assert.DoesNotContain("LABELS", table);
        Assert.Contains("LABELS", wide[0]);
        Assert.Contains("zone=x", wide[1]);
        var bare = Print(Vms, OutputFormat.Table, noHeaders: true).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, bare.Length);
        Assert.StartsWith("a ", bare[0]);
    }

    [Fact]
    public void Every_listing_takes_no_headers()
    {
        object[] listings =
        [
            Vms, new HostList([new HostStatus("h1:1", 4, 1UL << 30, new Dictionary<string, string>(), "AuthenticAMD", [], [new PlacedVm("a", 1, 64UL << 20, null)], 1, 0, 0, At)]),
            new Cluster.Contracts.Networks.NetworkList([]), new Cluster.Contracts.Access.TokenList([]), new Cluster.Contracts.Access.AuditList([]),
            new Cluster.Contracts.Migration.MigrationList([]),
        ];
        foreach (var listing in listings)
        {
            var text = Print(listing, OutputFormat.Wide, noHeaders: true);
            Assert.DoesNotContain("NAME", text);
            Assert.DoesNotContain("HOST ", text);
            Assert.DoesNotContain("ID ", text);
        }
    }
}
