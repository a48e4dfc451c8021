using System.Diagnostics;
using Cluster.Actors.Networks;
using Cluster.Actors.Runtime;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Networks;
using Cluster.Vmm;
using Cluster.Vmm.Machine;
using HostCommands = Cluster.Vmm.Networking.HostCommands;

namespace Cluster.Actors.Tests.Networks;

/// <summary>The host part of the cluster's networks: what a guest with NICs needs on the host it is created on.</summary>
public sealed class HostNetworkingTests : IDisposable
{
    private readonly string _namespace = "cht" + Guid.NewGuid().ToString("N")[..6];
    private readonly string _state = Directory.CreateTempSubdirectory("hostnetworking-").FullName;
    private bool _namespaceMade;

    private static NetworkBook Book(params INetworkEvent[] events) => events.Aggregate(NetworkBook.Empty, (b, e) => b.Apply(e));

    private static readonly NetworkSpec Lan = new("lan", NetworkMode.Nat, "10.88.0.0/24", Mtu: 1500);

    private static Contracts.Vms.VmSpec Web(string mac) => Specs.Of("web") with { Nics = [new NicSpec("lan", mac, "10.88.0.2", 1500)] };

    private const string mac = "02:00:00:00:00:01";

    /// <summary>A namespace of this test's own, the NAT network lan with VM web's address in the view, and a root host part in it.</summary>
    private (NetworkView View, HostNetworking Host) InNamespace()
    {
        Sh($"ip netns add {_namespace}");
        _namespaceMade = true;
        Sh($"chmod 755 {_state}");
        var view = new NetworkView();
        view.Publish(Book(new NetworkCreated(Lan), new AddressAssigned("lan", "web", mac, "10.88.0.2")));
        return (view, Host(view));
    }

    private HostNetworking Host(NetworkView view, bool privileged = true) =>
        new(new HostCommands(_namespaceMade ? _namespace : null), _state, "127.0.0.1", () => [], view, () => privileged);

    [Fact]
    public void A_guests_nics_become_virtio_net_devices_on_taps_named_from_the_vm_with_the_networks_mtu()
    {
        var spec = Specs.Of("web") with { Nics = [new NicSpec("ov", "02:00:00:00:00:01", "10.90.0.2", 1450), new NicSpec("lan", "02:00:00:00:00:02")] };
        var nics = MachineGuestRuntimeFactory.Config(spec).Nics;
        Assert.Equal([new NicConfig("02:00:00:00:00:01", HostNetworking.TapName("web", 0), 1450), new NicConfig("02:00:00:00:00:02", HostNetworking.TapName("web", 1))],
            nics);
        Assert.InRange(HostNetworking.TapName("a-vm-with-a-rather-long-id-of-sixty-three-characters-at-most-x", 15).Length, 1, 15);
        Assert.NotEqual(HostNetworking.TapName("web", 0), HostNetworking.TapName("web2", 0));
        // Two nodes of one machine (one network namespace) name the same VM's tap differently: a migration between them
        // opens the target's tap while the source's is open.
        Assert.NotEqual(HostNetworking.TapName("web", 0, "127.0.0.1:4001"), HostNetworking.TapName("web", 0, "127.0.0.1:4002"));
        Assert.Equal(HostNetworking.TapName("web", 0, "127.0.0.1:4001"), HostNetworking.TapName("web", 0, "127.0.0.1:4001"));
        Assert.InRange(HostNetworking.TapName("web", 15, "127.0.0.1:4001").Length, 1, 15);
        Assert.Contains("no MAC", Assert.Throws<VmmException>(() => MachineGuestRuntimeFactory.Config(Specs.Of("x") with { Nics = [new NicSpec("lan")] })).Message);
    }

    [Fact]
    public void A_guest_with_nics_is_refused_with_the_reason_on_a_host_that_does_not_know_its_network_or_is_not_root()
    {
        var view = new NetworkView();
        var unknown = Assert.Throws<VmmException>(() => Host(view).Prepare(Web("02:00:00:00:00:01")));
        Assert.Equal("VM web: NIC 0's network 'lan' is not known on this host (yet)", unknown.Message);
        view.Publish(Book(new NetworkCreated(Lan)));
        var notRoot = Assert.Throws<VmmException>(() => Host(view, privileged: false).Prepare(Web("02:00:00:00:00:01")));
        Assert.Contains("needs root", notRoot.Message);
        Host(view, privileged: false).Prepare(Specs.Of("plain"));
    }

    [Fact]
    public void The_factory_refuses_a_guest_with_nics_that_this_host_cannot_set_up_and_passes_others_through()
    {
        var view = new NetworkView();
        view.Publish(Book(new NetworkCreated(Lan)));
        var guests = new ScriptedGuests();
        var factory = new NetworkedGuestRuntimeFactory(guests, Host(view, privileged: false));
        Assert.Contains("needs root", Assert.Throws<VmmException>(() => factory.Create(Web("02:00:00:00:00:01"))).Message);
        Assert.Empty(guests.Created);
        factory.Create(Specs.Of("plain")).Dispose();
        Assert.Single(guests.Created);
    }

    [HostNetFact]
    public void Sets_up_the_nat_network_and_a_tap_on_its_bridge_removes_the_tap_with_its_vm_and_the_rest_with_the_network()
    {
        var (view, host) = InNamespace();
        host.Prepare(Web(mac));

        var tap = HostNetworking.TapName("web", 0);
        var link = Sh($"ip -n {_namespace} -d link show dev {tap}");
        Assert.Contains("master chv-lan", link);
        Assert.Contains("mtu 1500", link);
        Assert.Contains("tun type tap", link);
        Assert.Contains("10.88.0.1/24", Sh($"ip -n {_namespace} addr show dev chv-lan"));
        Assert.Equal($"{mac},10.88.0.2\n", File.ReadAllText(Path.Combine(_state, "lan", "hosts")));
        host.Prepare(Web(mac));
        Assert.Equal(["lan"], host.Realised);

        view.Publish(Book(new NetworkCreated(Lan), new AddressAssigned("lan", "web", mac, "10.88.0.2"), new AddressesReleased("web")));
        host.Reconcile(view.Current);
        Assert.NotEqual(0, Try($"ip -n {_namespace} link show dev {tap}"));
        Assert.Equal(0, Try($"ip -n {_namespace} link show dev chv-lan"));
        Assert.Equal("", File.ReadAllText(Path.Combine(_state, "lan", "hosts")));

        view.Publish(Book(new NetworkCreated(Lan), new AddressAssigned("lan", "web", mac, "10.88.0.2"), new AddressesReleased("web"), new NetworkDeleted("lan")));
        host.Reconcile(view.Current);
        Assert.Empty(host.Realised);
        Assert.False(Directory.Exists(_state), "the state folder goes with the last network");
        var links = Sh($"ip -n {_namespace} link show");
        Assert.DoesNotContain("chv-lan", links);
        Assert.DoesNotContain(tap, links);
    }

    [HostNetFact]
    public void A_tap_lets_out_only_its_nics_mac_and_address_and_its_guard_goes_with_it()
    {
        var (view, host) = InNamespace();
        host.Prepare(Web(mac));
        var tap = HostNetworking.TapName("web", 0);
        var table = Sh($"ip netns exec {_namespace} nft list table bridge {TapGuard.Table}");
        Assert.Contains($"\"{tap}\" . {mac}", table);
        Assert.Contains($"\"{tap}\" . 10.88.0.2", table);

        // From the guest's side of the tap: an honest ARP for the gateway, then an ARP claiming another address, one
        // from another MAC, an IPv4 packet from another address, a DHCP offer, an IPv6 router advertisement, an IPv6
        // packet from a global address and one from a link-local address (which passes).
        var script = Path.Combine(_state, "send.py");
        File.WriteAllText(script, SendFrames);
        Sh($"ip netns exec {_namespace} python3 {script} {tap} {mac}");
        Thread.Sleep(500);
        var neighbours = Sh($"ip -n {_namespace} neigh show dev chv-lan");
        Assert.Contains("10.88.0.2 ", neighbours);
        Assert.DoesNotContain("10.88.0.77", neighbours);
        Assert.DoesNotContain("10.88.0.3 ", neighbours);
        table = Sh($"ip netns exec {_namespace} nft list table bridge {TapGuard.Table}");
        foreach (var rule in new[] { "source MAC", "ARP sender address", "source address", "DHCP server", "IPv6 router advertisement" })
            Assert.Matches($"counter packets [1-9][0-9]* bytes [0-9]+ drop comment \"{rule}\"", table);
        Assert.Matches("counter packets 1 bytes [0-9]+ drop comment \"IPv6 source address\"", table); // the global one, not the link-local one
        Assert.Matches("counter packets 0 bytes 0 drop comment \"ARP sender MAC\"", table);

        view.Publish(Book(new NetworkCreated(Lan), new AddressAssigned("lan", "web", mac, "10.88.0.2"), new AddressesReleased("web")));
        host.Reconcile(view.Current);
        table = Sh($"ip netns exec {_namespace} nft list table bridge {TapGuard.Table}");
        Assert.DoesNotContain(tap, table);
    }

    [HostNetFact]
    public void A_guests_taps_go_when_it_ends_here_and_stay_when_the_node_lets_it_run_on()
    {
        var (view, host) = InNamespace();
        var guests = new ScriptedGuests();
        var factory = new NetworkedGuestRuntimeFactory(guests, host);
        var tap = HostNetworking.TapName("web", 0);

        var guest = factory.Create(Web(mac), 1);
        guest.Start();
        Assert.Equal(0, Try($"ip -n {_namespace} link show dev {tap}"));
        guest.Stop();
        guest.Dispose(); // stopped, or migrated away: the guest ends on this host
        Assert.NotEqual(0, Try($"ip -n {_namespace} link show dev {tap}"));
        Assert.DoesNotContain(tap, Sh($"ip netns exec {_namespace} nft list table bridge {TapGuard.Table}"));
        Assert.Equal(["lan"], host.Realised); // the network stays for the VM's next start

        var again = factory.Create(Web(mac), 2);
        Assert.Equal(0, Try($"ip -n {_namespace} link show dev {tap}"));
        guests.Created.Last().DetachKeepsRunning = true;
        Assert.True(again.Detach()); // the node shuts down and the guest runs on in its worker: its tap stays
        Assert.Equal(0, Try($"ip -n {_namespace} link show dev {tap}"));
    }

    [HostNetFact]
    public void A_restarted_node_releases_the_taps_and_guards_an_earlier_incarnation_made()
    {
        var (view, before) = InNamespace();
        before.Prepare(Web(mac));
        var tap = HostNetworking.TapName("web", 0);
        Assert.Contains(tap, Sh($"ip netns exec {_namespace} nft list table bridge {TapGuard.Table}"));

        // The node restarts: a new host part that never made the tap, asked to release the VM's taps (its re-attached
        // guest ended).
        Host(view).Release("web");
        Assert.NotEqual(0, Try($"ip -n {_namespace} link show dev {tap}"));
        Assert.DoesNotContain(tap, Sh($"ip netns exec {_namespace} nft list table bridge {TapGuard.Table}"));
    }

    [Fact]
    public void Reads_a_taps_entries_from_nfts_json()
    {
        const string json = """
            {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, {"set": {"family": "bridge", "name": "macs",
             "table": "cht_guard", "type": ["ifname", "ether_addr"], "handle": 1, "elem": [{"concat": ["tap1", "02:00:00:00:00:01"]},
             {"concat": ["tap2", "02:00:00:00:00:02"]}]}}]}
            """;
        Assert.Equal(["02:00:00:00:00:01"], TapGuard.Elements(json, "tap1"));
        Assert.Empty(TapGuard.Elements(json, "tap3"));
        Assert.Empty(TapGuard.Elements("""{"nftables": [{"set": {"name": "macs"}}]}""", "tap1"));
    }

    /// <summary>Opens the tap named by argv[1] (with the virtio-net header the VMM uses) and writes eight frames from MAC argv[2].</summary>
    private const string SendFrames = """
        import fcntl, os, socket, struct, sys, time
        tap, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))
        fd = os.open('/dev/net/tun', os.O_RDWR)
        fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', tap.encode(), 0x0002 | 0x1000 | 0x4000))
        time.sleep(0.3)
        def ip(a): return socket.inet_aton(a)
        def arp(src, sender_ip):
            return b'\xff' * 6 + src + b'\x08\x06' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + src + ip(sender_ip) + b'\x00' * 6 + ip('10.88.0.1')
        def udp(src_ip, sport=9999, dport=9999):
            header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 1, 0, 64, 17, 0, ip(src_ip), ip('10.88.0.1'))
            return b'\xff' * 6 + mac + b'\x08\x00' + header + struct.pack('!HHHH', sport, dport, 8, 0)
        def ip6(src, next_header, payload):
            header = struct.pack('!IHBB16s16s', 0x60000000, len(payload), next_header, 255, socket.inet_pton(socket.AF_INET6, src),
                                 socket.inet_pton(socket.AF_INET6, 'ff02::1'))
            return b'\x33\x33\x00\x00\x00\x01' + mac + b'\x86\xdd' + header + payload
        udp6 = struct.pack('!HHHH', 9999, 9999, 8, 0)
        router_advert = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0)
        other = bytes.fromhex('020000000099')
        for frame in (arp(mac, '10.88.0.2'), arp(mac, '10.88.0.77'), arp(other, '10.88.0.3'), udp('10.88.0.66'),
                      udp('10.88.0.2', 67, 68), ip6('fe80::1', 58, router_advert), ip6('2001:db8::5', 17, udp6), ip6('fe80::5', 17, udp6)):
            os.write(fd, bytes(10) + frame.ljust(60, b'\x00'))
            time.sleep(0.05)
        time.sleep(0.2)
        """;

    private static string Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : throw new InvalidOperationException($"'{command}' failed ({p.ExitCode}): {error}");
    }

    private static int Try(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command + " >/dev/null 2>&1"]))!;
        p.WaitForExit();
        return p.ExitCode;
    }

    public void Dispose()
    {
        if (_namespaceMade)
        {
            // Only a failed test leaves its dnsmasq (started by this test, in its own namespace) running: stop it before the namespace goes.
            Sh($"for p in $(ip netns pids {_namespace}); do kill $p; done; ip netns del {_namespace}");
        }
        if (Directory.Exists(_state))
            Directory.Delete(_state, recursive: true);
    }
}
