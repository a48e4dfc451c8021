using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Tests.Migration;

/// <summary>The target side of live migration: what a host refuses, and an incoming machine end to end (emulated backend).</summary>
public sealed class MigrationReceiverTests : TestKit
{
    private const string Self = "127.0.0.1:5001";
    private readonly EmulatedHypervisor _hypervisor = new();
    private readonly Akka.TestKit.TestProbe _agent;
    private readonly IActorRef _receiver;

    public MigrationReceiverTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        _agent = CreateTestProbe();
        PlacementBoard.Get(Sys).Report(new HostStatus(Self, 2, 8 << 20, new Dictionary<string, string>(), "GenuineIntel", [],
            [new PlacedVm("other", 1, 4 << 20, "g")], 1, 0, 4 << 20, DateTime.UtcNow));
        _receiver = Sys.ActorOf(MigrationReceiver.Props(new Cluster.Actors.Runtime.MachineGuestRuntimeFactory(_hypervisor), Self, _agent.Ref, null, PlacementSettings.Default,
            MigrationSettings.Default with { MaxIncoming = 1 }));
    }

    private static VmSpec Spec(string id, ulong memory = 2 << 20, string? group = null) =>
        Specs.Of(id, "counter") with { MemoryBytes = memory, AntiAffinityGroup = group };

    private static PrepareIncoming Prepare(VmSpec spec, int version = MigrationReceiver.ProtocolVersion) =>
        new(version, "m-" + spec.Id, spec, "127.0.0.1:5000", 3);

    private string Refused(PrepareIncoming prepare)
    {
        _receiver.Tell(prepare);
        return ExpectMsg<IncomingRefused>().Reason;
    }

    [Fact]
    public void Refuses_a_protocol_version_it_does_not_speak()
    {
        Assert.Contains("protocol version 2 is not supported", Refused(Prepare(Spec("a"), version: 2)));
    }

    [Fact]
    public void Refuses_a_vm_that_does_not_fit_its_free_memory()
    {
        Assert.Contains("does not fit this host (memory)", Refused(Prepare(Spec("a", memory: 6 << 20))));
    }

    [Fact]
    public void Refuses_a_vm_whose_disk_this_host_does_not_see_naming_the_path()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-disk-{Guid.NewGuid():N}.img");
        var reason = Refused(Prepare(Spec("a") with { Disks = [new DiskSpec(missing)] }));
        Assert.Contains("(disks)", reason);
        Assert.Contains($"does not see disk {missing}", reason);
    }

    [Fact]
    public void Refuses_a_vm_whose_disk_here_is_a_namesake_naming_both_identities()
    {
        var image = Path.Combine(Path.GetTempPath(), $"namesake-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(image, new byte[512]);
        var here = Guid.NewGuid().ToString("D");
        var vms = Guid.NewGuid().ToString("D");
        File.WriteAllText(image + ".cluster-id", here);
        try
        {
            var reason = Refused(Prepare(Spec("a") with { Disks = [new DiskSpec(image, Identity: vms)] }));
            Assert.Contains(image, reason);
            Assert.Contains(here, reason);
            Assert.Contains(vms, reason);
        }
        finally
        {
            File.Delete(image);
            File.Delete(image + ".cluster-id");
        }
    }

    [Fact]
    public void Refuses_a_vm_whose_anti_affinity_group_already_runs_here()
    {
        Assert.Contains("(anti-affinity)", Refused(Prepare(Spec("a", group: "g"))));
    }

    [Fact]
    public void Refuses_more_incoming_migrations_than_configured()
    {
        _receiver.Tell(Prepare(Spec("a")));
        ExpectMsg<IncomingReady>();
        Assert.Contains("already receives 1 migrations (at most 1)", Refused(Prepare(Spec("b"))));
        _receiver.Tell(new AbortIncoming("m-a", "test over"));
    }

    [Fact]
    public void Holds_the_room_while_preparing_and_cleans_up_when_the_source_abandons_it()
    {
        _receiver.Tell(Prepare(Spec("a")));
        var ready = ExpectMsg<IncomingReady>();
        Assert.Equal("127.0.0.1", ready.Address);
        Assert.True(ready.Port > 0);
        Assert.Equal(MigrationCredentials.TokenBytes, ready.Token.Length);
        Assert.Equal(MigrationCredentials.PinBytes, ready.CertificatePin?.Length);
        Assert.Equal("a", _agent.ExpectMsg<IncomingVm>().Spec.Id);
        Assert.NotNull(IncomingMigrations.Get(Sys).Find("a"));

        _receiver.Tell(new AbortIncoming("m-a", "cancelled"));
        Assert.Equal("a", _agent.ExpectMsg<IncomingVmEnded>(TimeSpan.FromSeconds(10)).VmId);
        AwaitCondition(() => IncomingMigrations.Get(Sys).Find("a") is null);
    }

    [Fact]
    public async Task A_machine_that_arrives_runs_parked_with_its_console_until_a_vm_actor_takes_it()
    {
        _receiver.Tell(Prepare(Spec("a")));
        var ready = ExpectMsg<IncomingReady>();
        using var source = Machine.Create(_hypervisor, new MachineConfig
        {
            Vcpus = 1, MemoryBytes = 2 << 20, Image = new BuiltInGuestImage("counter"),
        });
        source.Start();
        var result = await new MigrationSource(source, new MigrationOptions { DisposeSourceOnSuccess = false })
            .MigrateAsync(new IPEndPoint(IPAddress.Parse(ready.Address), ready.Port), new MigrationCredentials(ready.Token, ready.CertificatePin));
        Assert.True(result.Succeeded, result.FailureReason);
        _receiver.Tell(new IncomingConsole("m-a", "a", "count 1\n"u8.ToArray()));

        var incoming = IncomingMigrations.Get(Sys).Find("a")!;
        var guest = await incoming.Arrival.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(guest);
        AwaitCondition(() => incoming.ConsoleHistory is not null);
        Assert.Equal(3, incoming.ExpectedEpoch);
        var output = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        guest.Attach(output.Enqueue, _ => { });
        AwaitCondition(() => output.Sum(b => b.Length) > 0, TimeSpan.FromSeconds(10));
        Assert.Same(incoming, IncomingMigrations.Get(Sys).TryTake("a"));
        guest.Guest.Dispose();
    }

    private static (IncomingMigration Incoming, ScriptedGuest Guest) Parked(string vmId, long expectedEpoch)
    {
        var guest = new ScriptedGuest("hello");
        guest.Start();
        var incoming = new IncomingMigration(vmId, "m-" + vmId, expectedEpoch);
        incoming.Arrived(new ParkedGuest(guest));
        return (incoming, guest);
    }

    [Fact]
    public void A_claim_by_another_host_stops_the_migrated_guest_parked_here_before_it_is_answered()
    {
        var (incoming, guest) = Parked("p", expectedEpoch: 1);
        Assert.True(IncomingMigrations.Get(Sys).TryAdd(incoming));

        // The claimer read epoch 2 (the commit that brought the guest here) and will boot the VM at epoch 3.
        _receiver.Tell(new ReleaseClaimedVm("p", 2, "127.0.0.1:5300"));
        var answer = ExpectMsg<ClaimedVmReleased>(TimeSpan.FromSeconds(10));
        Assert.True(answer.Released, answer.Detail);
        Assert.Equal("stopped", guest.State);
        Assert.True(guest.Disposed);
        Assert.Null(IncomingMigrations.Get(Sys).Find("p"));
        Assert.True(incoming.Released);
        _agent.FishForMessage(m => m is IncomingVmEnded { VmId: "p" }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_claim_that_read_an_older_epoch_than_a_guest_arriving_here_is_refused_and_the_guest_runs_on()
    {
        var (incoming, guest) = Parked("q", expectedEpoch: 5);
        Assert.True(IncomingMigrations.Get(Sys).TryAdd(incoming));

        _receiver.Tell(new ReleaseClaimedVm("q", 5, "127.0.0.1:5300"));
        var answer = ExpectMsg<ClaimedVmReleased>(TimeSpan.FromSeconds(10));
        Assert.False(answer.Released);
        Assert.Contains("epoch 6", answer.Detail);
        Assert.Equal("running", guest.State);
        Assert.False(incoming.Released);
        Assert.Same(incoming, IncomingMigrations.Get(Sys).TryTake("q"));
    }

    [Fact]
    public void A_claim_by_another_host_stops_a_guest_held_here_through_a_journal_fault()
    {
        var guest = new ScriptedGuest("hello");
        guest.Start();
        var held = Cluster.Actors.Vms.HeldGuests.Get(Sys);
        held.Faulted("h", 4, paused: false);
        Assert.True(held.TryHold("h", guest));

        _receiver.Tell(new ReleaseClaimedVm("h", 4, "127.0.0.1:5300"));
        Assert.True(ExpectMsg<ClaimedVmReleased>(TimeSpan.FromSeconds(10)).Released);
        Assert.Equal("stopped", guest.State);
        Assert.True(guest.Disposed);
        Assert.Null(held.Take("h"));
    }

    [Fact]
    public void A_claim_for_a_vm_nothing_runs_of_here_is_answered_released_at_once()
    {
        _receiver.Tell(new ReleaseClaimedVm("none", 1, "127.0.0.1:5300"));
        var answer = ExpectMsg<ClaimedVmReleased>(TimeSpan.FromSeconds(10));
        Assert.True(answer.Released, answer.Detail);
        Assert.Equal("none", answer.VmId);
    }
}
