using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Vms;

/// <summary>Live migration requests to VM actors outside a cluster (the single-node manager).</summary>
public sealed class VmActorMigrationTests : TestKit
{
    private readonly IActorRef _manager;

    public VmActorMigrationTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        _manager = Managers.Start(Sys, new ScriptedGuests());
    }

    private T Ask<T>(object message) => _manager.Ask<T>(message, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    [Fact]
    public void A_single_node_refuses_live_migration_and_the_vm_keeps_running()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("a")));
        Ask<VmCommandAccepted>(new StartVm("a"));
        var refused = Ask<NotAllowed>(new MigrateVm("a", "127.0.0.1:4002", MigrationLimits.Default, MigrationCause.ByOperator));
        Assert.Equal("live migration needs cluster mode", refused.Reason);
        Assert.Contains("no migration", Ask<NotAllowed>(new CancelMigration("a")).Reason);
        Assert.Equal(Contracts.Vms.VmStatus.Running, Ask<VmInfo>(new GetVm("a")).Status);
    }
}
