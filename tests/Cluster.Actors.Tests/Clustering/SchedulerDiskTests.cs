using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Placement;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Actors.Tests.Clustering;

/// <summary>
/// Admission of VMs with disks, in a one-node cluster: the scheduler asks the hosts what they see at a new VM's paths
/// (here a scripted probe: h1 is the emptiest host and sees nothing, h2 sees the shared image) and never places a VM on a
/// host that lacks its image or holds a namesake; the host agent answers such a question from the file system.
/// </summary>
public sealed class SchedulerDiskTests : TestKit
{
    private const string Path = "/shared/vm-a.qcow2";
    private const string IdA = "11111111-1111-1111-1111-111111111111";
    private const string IdB = "22222222-2222-2222-2222-222222222222";

    private static Config ClusterConfig() => ConfigurationFactory.ParseString(
        """
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.cluster.roles = [host]
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.coordinated-shutdown.phases { cluster-exiting.timeout = 1s, cluster-leave.timeout = 1s }
        """).WithFallback(TestConfig.For(TestConfig.NewDataDirectory()));

    private readonly ScriptedProbe _probe = new();
    private readonly IActorRef _scheduler;

    public SchedulerDiskTests()
        : base(ClusterConfig())
    {
        var board = PlacementBoard.Get(Sys);
        board.Report(Status("h1"));
        board.Report(Status("h2", new PlacedVm("busy", 2, 1UL << 30, null)));
        _scheduler = Sys.ActorOf(Scheduler.Props(PlacementSettings.Default, _probe));
    }

    private static HostStatus Status(string host, params PlacedVm[] vms) =>
        new(host, 4, 4UL << 30, new Dictionary<string, string>(), "test", [], vms, vms.Length, 0, 0, DateTime.UtcNow);

    private static VmSpec WithDisk(string id, string? identity = null) =>
        Specs.Of(id) with { Disks = [new DiskSpec(Path, Identity: identity)] };

    [Fact]
    public void Places_a_vm_on_the_host_that_sees_its_image_not_on_the_emptier_one_that_does_not()
    {
        _probe.Sees["h1"] = new DiskSeen(Path, false, null);
        _probe.Sees["h2"] = new DiskSeen(Path, true, null);

        _scheduler.Tell(new CreateVm(WithDisk("a")));

        Assert.Equal("h2", ExpectMsg<PlacementDecided>().Host);
        Assert.Equal([Path], _probe.AskedPaths.Single());
    }

    [Fact]
    public void Places_a_vm_without_disks_on_the_emptiest_host_without_asking()
    {
        _scheduler.Tell(new CreateVm(Specs.Of("plain")));

        Assert.Equal("h1", ExpectMsg<PlacementDecided>().Host);
        Assert.Empty(_probe.AskedPaths);
    }

    [Fact]
    public void Refuses_a_vm_whose_image_no_host_sees_naming_the_path()
    {
        _probe.Sees["h1"] = new DiskSeen(Path, false, null);

        _scheduler.Tell(new CreateVm(WithDisk("a")));

        var refused = ExpectMsg<PlacementRefused>();
        Assert.Equal("disks", refused.Resource);
        Assert.Contains($"h1 does not see disk {Path}", refused.Message);
        Assert.Contains($"h2 has not reported on disk {Path}", refused.Message);
    }

    [Fact]
    public void Refuses_a_migration_target_whose_file_is_a_namesake_naming_both_identities()
    {
        _probe.Sees["h1"] = new DiskSeen(Path, true, IdB);

        _scheduler.Tell(new ReserveMigrationTarget(WithDisk("a", identity: IdA), "h1"));

        var refused = ExpectMsg<PlacementRefused>();
        Assert.Equal("disks", refused.Resource);
        Assert.Contains(IdA, refused.Message);
        Assert.Contains(IdB, refused.Message);
    }

    [Fact]
    public void Serves_requests_that_arrive_while_it_waits_for_the_hosts_in_order()
    {
        _probe.Sees["h2"] = new DiskSeen(Path, true, null);
        _probe.Delay = TimeSpan.FromMilliseconds(300);

        _scheduler.Tell(new CreateVm(WithDisk("a")));
        _scheduler.Tell(new CreateVm(Specs.Of("a")));

        Assert.Equal(("a", "h2"), ExpectMsg<PlacementDecided>() is var d ? (d.VmId, d.Host) : default);
        Assert.Contains("already exists", ExpectMsg<NotAllowed>().Reason);
    }

    [Fact]
    public void A_host_agent_says_what_it_sees_at_disk_paths()
    {
        var image = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"agent-disk-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(image, new byte[512]);
        File.WriteAllText(image + ".cluster-id", IdA + "\n");
        try
        {
            var agent = Sys.ActorOf(HostAgent.Props("h9", new HostCapacity(2, 1UL << 30, new Dictionary<string, string>(), new CpuModel("test", [])),
                TimeSpan.FromMinutes(1)));
            agent.Tell(new CheckDisks([image, "/nowhere/b.img"]));

            var seen = ExpectMsg<DisksSeen>();
            Assert.Equal("h9", seen.Host);
            Assert.Equal([new DiskSeen(image, true, IdA), new DiskSeen("/nowhere/b.img", false, null)], seen.Disks);
        }
        finally
        {
            File.Delete(image);
            File.Delete(image + ".cluster-id");
        }
    }

    [Fact]
    public void A_host_agent_reports_what_it_sees_at_the_disk_paths_of_the_vms_the_board_knows()
    {
        var image = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"agent-status-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(image, new byte[512]);
        File.WriteAllText(image + ".cluster-id", IdA + "\n");
        try
        {
            var board = PlacementBoard.Get(Sys);
            board.Decide(new PlacementDecided(Specs.Of("elsewhere") with { Disks = [new DiskSpec(image), new DiskSpec("/nowhere/b.img")] }, "h1"));
            Sys.ActorOf(HostAgent.Props("h9", new HostCapacity(2, 1UL << 30, new Dictionary<string, string>(), new CpuModel("test", [])),
                TimeSpan.FromMilliseconds(100)));

            AwaitAssert(() => Assert.Equal([new DiskSeen("/nowhere/b.img", false, null), new DiskSeen(image, true, IdA)],
                board.Hosts().Single(h => h.Host == "h9").Disks), TimeSpan.FromSeconds(5));
        }
        finally
        {
            File.Delete(image);
            File.Delete(image + ".cluster-id");
        }
    }

    /// <summary>Hosts that answer with what <see cref="Sees"/> says; a host not in it does not answer.</summary>
    private sealed class ScriptedProbe : IDiskProbe
    {
        public Dictionary<string, DiskSeen> Sees { get; } = new(StringComparer.Ordinal);

        public List<IReadOnlyList<string>> AskedPaths { get; } = [];

        public TimeSpan Delay { get; set; }

        public async Task<IReadOnlyList<DisksSeen>> Look(IReadOnlyCollection<string> hosts, IReadOnlyList<string> paths, TimeSpan timeout)
        {
            lock (AskedPaths)
                AskedPaths.Add(paths);
            await Task.Delay(Delay);
            return [.. hosts.Where(Sees.ContainsKey).Select(h => new DisksSeen(h, [Sees[h]]))];
        }
    }
}
