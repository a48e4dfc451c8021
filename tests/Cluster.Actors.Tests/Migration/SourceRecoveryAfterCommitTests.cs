using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Migration;

/// <summary>
/// The source's VM actor stopped around the commit (a journal fault) and its write landed: its next incarnation reads the
/// commit from the journal and leaves for the target, where the guest runs, instead of booting the VM cold here.
/// </summary>
public sealed class SourceRecoveryAfterCommitTests : TestKit
{
    private const string Source = "127.0.0.1:5000";
    private const string Target = "127.0.0.1:5001";
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public SourceRecoveryAfterCommitTests()
        : base(ConfigurationFactory.ParseString("""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.remote.dot-netty.tcp.port = 0
            """).WithFallback(TestConfig.For(TestConfig.NewDataDirectory())))
    {
    }

    [Fact]
    public async Task A_source_that_restarts_after_its_commit_was_written_leaves_for_the_target_without_booting()
    {
        var spec = Specs.Of("r");
        JournalWriter.Append(Sys, "r",
            new VmDefined("r", At, "defined", spec),
            new VmOwnerClaimed("r", At, $"owned by {Source}", 1, Source),
            new VmStarted("r", At, "started"),
            new VmMigrationStarted("r", At, "migration", "m-r", Source, Target, MigrationCause.ByOperator, MigrationLimits.Default),
            new VmMigrated("r", At, "migrated", "m-r", Source, Target, 2));
        var guests = new ScriptedGuests();
        var agent = CreateTestProbe();
        var hosting = new VmHosting(agent.Ref, null, TimeSpan.FromMinutes(1), CreateTestProbe().Ref, MigrationSettings.Default);

        var vm = Sys.ActorOf(VmActor.Props("r", guests, new VmActorSettings(50, 1024, 100, Source), hosting));

        agent.FishForMessage(m => m is VmUnhosted, TimeSpan.FromSeconds(30));
        var events = (await vm.Ask<VmEventList>(new GetVmEvents("r"), TimeSpan.FromSeconds(30))).Events;
        Assert.IsType<VmMigrationCompleted>(events[^1]);
        Assert.DoesNotContain(events.SkipWhile(e => e is not VmMigrated).Skip(1), e => e is VmStarted or VmRestarted or VmOwnerClaimed);
        Assert.Empty(guests.Created);
        Assert.Equal(Target, PendingMoves.Get(Sys).Find("r")?.To);
    }
}
