using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Hosting;
using Cluster.Actors.Networks;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Tests.Networks;

/// <summary>The network registry on a SQLite journal, alone and behind a single host's VM manager (as a standalone node composes them).</summary>
public sealed class NetworkRegistryTests : TestKit
{
    private readonly string _data;
    private readonly IActorRef _networks;
    private readonly IActorRef _manager;

    public NetworkRegistryTests()
        : this(TestConfig.NewDataDirectory())
    {
    }

    private NetworkRegistryTests(string data)
        : base(TestConfig.For(data))
    {
        _data = data;
        _networks = Sys.ActorOf(NetworkRegistry.Props(), NetworkRegistry.Name);
        var guests = new ScriptedGuests();
        _manager = Sys.ActorOf(VmManager.Props(guests, new VmSpecValidator(Specs.Limits(guests.BuiltInImages)),
            VmActorSettings.From(Sys.Settings.Config, "test-node"), _networks), VmManager.Name);
    }

    private T Ask<T>(IActorRef to, object message) => to.Ask<T>(message, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    [Fact]
    public async Task Networks_and_addresses_survive_a_restart_of_the_registry()
    {
        var created = await _networks.Ask<NetworkInfo>(new CreateNetwork(new NetworkSpec("ov", NetworkMode.Overlay, "10.70.0.0/24")), TimeSpan.FromSeconds(30));
        Assert.Equal((1450, NetworkBook.FirstVni), (created.Spec.Mtu, created.Spec.Vni));
        var assigned = await _networks.Ask<NicsAssigned>(new AssignNics("a", [new NicSpec("ov")]), TimeSpan.FromSeconds(30));
        Watch(_networks);
        Sys.Stop(_networks);
        await ExpectTerminatedAsync(_networks);

        using var other = ActorSystem.Create("again", TestConfig.For(_data));
        var again = other.ActorOf(NetworkRegistry.Props(), NetworkRegistry.Name);
        var info = await again.Ask<NetworkInfo>(new GetNetwork("ov"), TimeSpan.FromSeconds(30));
        Assert.Equal(created.Spec, info.Spec);
        Assert.Equal(new NetworkAddress("a", assigned.Nics[0].Mac!, "10.70.0.2"), Assert.Single(info.Addresses));
        var refused = await again.Ask<NetworkRefused>(new CreateNetwork(new NetworkSpec("x", NetworkMode.Nat, "10.70.0.0/16")), TimeSpan.FromSeconds(30));
        Assert.Contains("overlaps network 'ov'", refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vm_created_with_a_nic_records_its_mac_and_address_and_holds_the_network_until_it_is_deleted()
    {
        Assert.IsType<NetworkInfo>(Ask<object>(_manager, new CreateNetwork(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24"))));
        Ask<VmCommandAccepted>(_manager, new CreateVm(Specs.Of("web") with { Nics = [new NicSpec("lan")] }));
        var nic = Assert.Single(Ask<VmInfo>(_manager, new GetVm("web")).Spec.Nics);
        Assert.Equal(new NicSpec("lan", MacText.Generate("web", 0), "10.88.0.2", 1500), nic);
        Assert.Equal(new NetworkAddress("web", nic.Mac!, "10.88.0.2"), Assert.Single(Ask<NetworkInfo>(_manager, new GetNetwork("lan")).Addresses));

        Assert.Contains("used by VM(s) web", Ask<NetworkRefused>(_manager, new DeleteNetwork("lan")).Reason, StringComparison.Ordinal);
        Assert.Contains("no network 'nope'", Ask<NotAllowed>(_manager, new CreateVm(Specs.Of("db") with { Nics = [new NicSpec("nope")] })).Reason,
            StringComparison.Ordinal);
        Assert.IsType<VmNotFound>(Ask<object>(_manager, new GetVm("db")));

        Ask<VmCommandAccepted>(_manager, new DeleteVm("web"));
        AwaitAssert(() => Assert.Empty(Ask<NetworkInfo>(_manager, new GetNetwork("lan")).Addresses), TimeSpan.FromSeconds(10));
        Assert.IsType<NetworkRemoved>(Ask<object>(_manager, new DeleteNetwork("lan")));
        Assert.Empty(Ask<NetworkList>(_manager, ListNetworks.Instance).Networks);
    }
}
