using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Migration;
using Cluster.Actors.Tests.Migration;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Tests.Vms;

/// <summary>
/// A guest whose run permit lapsed (its node was stopped or stalled longer than the permit) stays paused until its VM actor
/// has read the journal after the lapse: it runs again only when no other host claimed the VM meanwhile (and this node is a
/// whole cluster's Up member); a newer claim fences it instead. The nemesis found a node woken from SIGSTOP resuming a guest
/// another host had started meanwhile.
/// </summary>
public sealed class PermitLapseTests : TestKit
{
    private const string Self = "127.0.0.1:5100";
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public PermitLapseTests()
        : base(ConfigurationFactory.ParseString("""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.remote.dot-netty.tcp.port = 0
            """).WithFallback(TestConfig.For(TestConfig.NewDataDirectory())))
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up, TimeSpan.FromSeconds(30));
    }

    /// <summary>A VM the journal says runs here: its actor boots it on recovery (a new claim) and returns the guest.</summary>
    private (IActorRef Vm, ScriptedGuest Guest) Running(string id)
    {
        JournalWriter.Append(Sys, id,
            new VmDefined(id, At, "defined", Specs.Of(id)),
            new VmOwnerClaimed(id, At, $"owned by {Self}", 1, Self),
            new VmStarted(id, At, "started"));
        var guests = new ScriptedGuests();
        // No periodic journal reads: only the lapse makes the actor read.
        var hosting = new VmHosting(CreateTestProbe().Ref, null, TimeSpan.FromMinutes(10), CreateTestProbe().Ref, MigrationSettings.Default);
        var vm = Sys.ActorOf(VmActor.Props(id, guests, new VmActorSettings(50, 1024, 100, Self), hosting));
        AwaitCondition(() => guests.Created.Count == 1 && guests.Created.First().State == "running", TimeSpan.FromSeconds(30));
        return (vm, guests.Created.First());
    }

    [Fact]
    public void A_lapsed_guest_runs_again_once_the_journal_shows_no_newer_owner()
    {
        var (_, guest) = Running("lapse-ok");
        guest.Lapse();
        AwaitCondition(() => guest.ResumesAfterLapse == 1, TimeSpan.FromSeconds(30));
        Assert.Equal("running", guest.State);
    }

    [Fact]
    public void A_lapsed_guest_whose_vm_another_host_claimed_meanwhile_is_stopped_and_never_resumed()
    {
        var (_, guest) = Running("lapse-taken");
        // While this node was stopped, the cluster downed it and another host claimed the VM (epoch 3; this node booted epoch 2).
        JournalWriter.Append(Sys, "lapse-taken", new VmOwnerClaimed("lapse-taken", At, "owned by 127.0.0.1:5200", 3, "127.0.0.1:5200"));
        guest.Lapse();
        AwaitCondition(() => guest.State == "stopped", TimeSpan.FromSeconds(30));
        Thread.Sleep(500);
        Assert.Equal(0, guest.ResumesAfterLapse);
    }
}
