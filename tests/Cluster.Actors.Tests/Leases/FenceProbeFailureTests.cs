using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Migration;
using Cluster.Actors.Persistence;
using Cluster.Actors.Tests.Migration;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Tests.Leases;

/// <summary>
/// A running VM that cannot read its journal (the database went away) cannot confirm that it still owns the VM: its guest is
/// paused until a later read confirms ownership, then runs again. (The probe used to stop silently and the guest ran on.)
/// </summary>
public sealed class FenceProbeFailureTests : TestKit
{
    private const string Self = "127.0.0.1:5100";
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly string _data;

    public FenceProbeFailureTests()
        : this(TestConfig.NewDataDirectory())
    {
    }

    // The journal opens a new connection per call (no pool holding the file open), so a directory moved away fails reads.
    private FenceProbeFailureTests(string data)
        : base(ConfigurationFactory.ParseString(
                $"""
                akka.actor.provider = cluster
                akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
                akka.remote.dot-netty.tcp.port = 0
                akka.persistence.journal.sql.connection-string = "Data Source={SqliteJournal.Prepare(data)};Pooling=False"
                akka.persistence.journal.sql.circuit-breaker.reset-timeout = 500ms
                """).WithFallback(TestConfig.For(data)))
    {
        _data = data;
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void A_journal_that_cannot_be_read_pauses_the_guest_until_a_read_confirms_ownership()
    {
        const string id = "probe-fails";
        JournalWriter.Append(Sys, id,
            new VmDefined(id, At, "defined", Specs.Of(id)),
            new VmOwnerClaimed(id, At, $"owned by {Self}", 1, Self),
            new VmStarted(id, At, "started"));
        var guests = new ScriptedGuests();
        var hosting = new VmHosting(CreateTestProbe().Ref, null, TimeSpan.FromMilliseconds(300), CreateTestProbe().Ref, MigrationSettings.Default);
        Sys.ActorOf(VmActor.Props(id, guests, new VmActorSettings(50, 1024, 100, Self), hosting));
        AwaitCondition(() => guests.Created.Count == 1 && guests.Created.First().State == "running", TimeSpan.FromSeconds(30));
        var guest = guests.Created.First();

        var gone = _data + ".gone";
        Directory.Move(_data, gone);
        try
        {
            AwaitCondition(() => guest.State == "paused", TimeSpan.FromSeconds(15));
        }
        finally
        {
            Directory.Move(gone, _data);
        }
        AwaitCondition(() => guest.State == "running", TimeSpan.FromSeconds(15));
    }
}
