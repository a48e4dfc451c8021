using Cluster.Contracts.Commands;
using Cluster.Contracts.Networks;
using Cluster.Vmctl.Cli;

namespace Cluster.Node.Tests.Vmctl;

public sealed class NetworkVerbsTests
{
    private static (bool Ok, object? Request, string? Error) Prepare(params string[] args)
    {
        var ok = VmctlApp.TryPrepare(CommandLine.Parse(args, out _)!, out _, out var request, out var error);
        return (ok, request, error);
    }

    [Fact]
    public void Builds_the_network_requests_and_refuses_bad_ones()
    {
        Assert.Equal(new CreateNetwork(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24")),
            Prepare("network", "create", "lan", "--mode", "nat", "--subnet", "10.88.0.0/24").Request);
        Assert.Equal(new CreateNetwork(new NetworkSpec("phys", NetworkMode.Bridge, null, "br0", 9000)),
            Prepare("network", "create", "phys", "--mode", "bridge", "--bridge", "br0", "--mtu", "9000").Request);
        Assert.Same(ListNetworks.Instance, Prepare("network", "list").Request);
        Assert.Equal(new GetNetwork("lan"), Prepare("network", "show", "lan").Request);
        Assert.Equal(new DeleteNetwork("lan"), Prepare("network", "delete", "lan").Request);
        Assert.Contains("needs --mode", Prepare("network", "create", "lan").Error);
        Assert.Contains("bad --mode", Prepare("network", "create", "lan", "--mode", "routed").Error);
        Assert.Contains("bad --mtu", Prepare("network", "create", "lan", "--mode", "nat", "--mtu", "big").Error);
        Assert.Contains("'network list' does not take --mode", Prepare("network", "list", "--mode", "nat").Error);
        Assert.Contains("'network' takes", Prepare("network", "show").Error);
        Assert.Contains("does not take --role", Prepare("network", "list", "--role", "x").Error);
    }

    [Fact]
    public void Create_takes_repeated_nics_with_an_optional_mac()
    {
        var create = Assert.IsType<CreateVm>(Prepare("create", "web", "--image", "hello", "--nic", "network=lan",
            "--nic", "network=dmz,mac=52:54:00:00:00:01").Request);
        Assert.Equal([new NicSpec("lan"), new NicSpec("dmz", "52:54:00:00:00:01")], create.Spec.Nics);
        Assert.Contains("bad --nic: nic 'network=lan,ip=1.2.3.4': unknown option 'ip'",
            Prepare("create", "web", "--image", "hello", "--nic", "network=lan,ip=1.2.3.4").Error);
    }
}
