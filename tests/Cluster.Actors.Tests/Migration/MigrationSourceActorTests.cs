using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Leases;
using Cluster.Actors.Migration;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Tests.Migration;

/// <summary>
/// The source side's commit path, with probes for the scheduler, the console, the vCPU supervisor and the VM actor:
/// while the guest is paused only the journal write is waited for (the console tail is asked beside it).
/// </summary>
public sealed class MigrationSourceActorTests : TestKit
{
    private const string Id = "m-1";

    // The first steps run while the test host is still starting (JIT, the cluster provider, other test classes in
    // parallel): a loaded CI machine took more than the default 5 s there.
    private static readonly TimeSpan SetupWait = TimeSpan.FromSeconds(30);
    private readonly TestProbe _scheduler;
    private readonly TestProbe _console;
    private readonly TestProbe _streamer;
    private readonly TestProbe _parent;

    public MigrationSourceActorTests()
        : base(ConfigurationFactory.ParseString("""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.remote.dot-netty.tcp.port = 0
            """).WithFallback(TestConfig.For(TestConfig.NewDataDirectory())))
    {
        _scheduler = CreateTestProbe();
        _console = CreateTestProbe();
        _streamer = CreateTestProbe();
        _parent = CreateTestProbe();
    }

    /// <summary>A source actor (under a parent that hands its messages to <see cref="_parent"/>) streaming by now.</summary>
    private IActorRef Streaming(TimeSpan stepTimeout)
    {
        var spec = Specs.Of("vm", "counter");
        var outgoing = new OutgoingMigration(Id, spec, "127.0.0.1:5000", "127.0.0.1:5001", MigrationLimits.Default, MigrationCause.ByOperator,
            DateTime.UtcNow);
        var hosting = new VmHosting(CreateTestProbe().Ref, null, TimeSpan.FromSeconds(1), _scheduler.Ref,
            MigrationSettings.Default with { StepTimeout = stepTimeout });
        var child = MigrationSourceActor.Props(outgoing, 3, _streamer.Ref, _console.Ref, hosting);
        var parent = Sys.ActorOf(Props.Create(() => new Parent(child, _parent.Ref)));
        _scheduler.ExpectMsg<ReserveMigrationTarget>(SetupWait);
        _scheduler.Reply(new PlacementDecided(spec, "127.0.0.1:5001"));
        parent.Tell(new IncomingReady(Id, "127.0.0.1", 4000, new byte[32], new byte[32]));
        _streamer.ExpectMsg<MigrateGuestOut>(SetupWait);
        return parent;
    }

    private static MigrationEnded Succeeded() =>
        new(Id, new MigrationResult { Succeeded = true, OwnershipMoved = true, Downtime = TimeSpan.FromMilliseconds(9) });

    [Fact]
    public void A_commit_is_refused_while_this_hosts_lease_runs_out_within_a_renewal_period_and_written_while_it_holds()
    {
        var source = Streaming(TimeSpan.FromSeconds(15));
        var leases = HostLeases.Get(Sys);
        // Half a second left (the renewal period is 2 s): a node cut off from the database must not hand the VM on.
        leases.Publish(new HostLeaseView(true, Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2, "n#1", 1, 0));

        source.Tell(new CommitRequested(Id));
        var refused = _streamer.ExpectMsg<CommitRefused>(SetupWait);
        Assert.Contains("lease is not held", refused.Reason);
        _parent.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // Renewed: held for 10 s more, so the commit is written.
        leases.Publish(new HostLeaseView(true, Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency, "n#1", 2, 0));
        source.Tell(new CommitRequested(Id));
        _parent.ExpectMsg<PersistMigrationCommit>(p => Assert.Equal("127.0.0.1:5001", p.Target));
    }

    [Fact]
    public void The_commit_is_written_without_waiting_for_the_console_which_reaches_the_target_before_the_outcome()
    {
        var source = Streaming(TimeSpan.FromSeconds(15));

        source.Tell(new CommitRequested(Id));
        _parent.ExpectMsg<PersistMigrationCommit>(p => Assert.Equal("127.0.0.1:5001", p.Target));
        _console.ExpectMsg<ConsoleTail>();
        source.Tell(new MigrationCommitPersisted(Id, TimeSpan.FromMilliseconds(2)));
        source.Tell(Succeeded());
        // The VM actor tells the supervisor CommitWritten; the outcome waits for the console tail.
        _streamer.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        _parent.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        _console.Reply(new ConsoleOutput("vm", "hello\n"u8.ToArray()));
        var done = _parent.ExpectMsg<OutgoingMigrationCompleted>();
        Assert.Equal(Id, done.Event.MigrationId);
    }

    [Fact]
    public void A_console_that_does_not_answer_does_not_hold_back_the_migration()
    {
        var source = Streaming(TimeSpan.FromMilliseconds(500));

        source.Tell(new CommitRequested(Id));
        _parent.ExpectMsg<PersistMigrationCommit>();
        _console.ExpectMsg<ConsoleTail>();
        source.Tell(new MigrationCommitPersisted(Id));
        source.Tell(Succeeded());

        _parent.ExpectMsg<OutgoingMigrationCompleted>(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_commit_asked_after_a_cancellation_is_refused_to_the_supervisor_and_nothing_is_written()
    {
        var source = Streaming(TimeSpan.FromSeconds(15));

        source.Tell(new CancelMigration("vm"));
        ExpectMsg<MigrationCancelling>();
        _streamer.ExpectMsg<CancelGuestMigration>();
        // The page stream asks with no sender: the refusal goes to the supervisor that holds its wait.
        source.Tell(new CommitRequested(Id), ActorRefs.NoSender);
        _streamer.ExpectMsg<CommitRefused>(r => Assert.Equal(Id, r.MigrationId));
        source.Tell(new MigrationEnded(Id, new MigrationResult { FailureReason = "cancelled" }));

        var failed = _parent.ExpectMsg<OutgoingMigrationFailed>();
        Assert.True(failed.Event.Cancelled);
        _console.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Starts the source actor as its child; what the child sends up goes to the probe, the rest down to the child.</summary>
    private sealed class Parent : ReceiveActor
    {
        public Parent(Props child, IActorRef probe)
        {
            var migration = Context.ActorOf(child, "migration");
            ReceiveAny(m =>
            {
                if (Sender.Equals(migration))
                    probe.Forward(m);
                else
                    migration.Forward(m);
            });
        }
    }
}
