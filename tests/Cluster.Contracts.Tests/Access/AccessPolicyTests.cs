using Cluster.Contracts;
using Cluster.Contracts.Access;
using Cluster.Contracts.Events;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Registry;
using Cluster.Contracts.Replies;

namespace Cluster.Contracts.Tests.Access;

public sealed class AccessPolicyTests
{
    private static readonly Role[] Roles = [Role.None, Role.Viewer, Role.Operator, Role.Admin];

    /// <summary>Contracts that are data inside other messages, snapshots, or messages between the cluster's own actors: never sent by a client.</summary>
    private static readonly HashSet<string> NotClientCommands =
    [
        "BearerCommand", "AuditRecord", "AuditSnapshot", "TokenInfo", "VmSpec", "DiskSpec", "BuiltInImage", "ElfImage", "LinuxImage",
        "MigrationLimits", "MigrationCause", "MigrationInfo", "HostStatus", "DiskSeen", "DisksSeen", "PlacedVm", "RebalanceHost",
        "PlannedMove", "VmSnapshot", "RegistrySnapshot", "RebalancerSnapshot", "UnschedulableHosts", "PlacementDecided",
        "UpdatePlacement", "PlacementReleased", "ListLocalVms", "CheckDisks", "AbortIncoming", "EndMigrationReservation",
        "PrepareIncoming", "ReleaseClaimedVm", "ClaimedVmReleased", "ReserveMigrationTarget", "IncomingConsole", "IncomingReady", "IncomingRefused", "RestartPolicy", "VmMoved",
        "NetworkSpec", "NicSpec", "NetworkAddress", "AssignNics", "ReleaseNics",
    ];

    private static IEnumerable<Type> Contracts() =>
        typeof(IClusterMessage).Assembly.GetTypes().Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IClusterMessage).IsAssignableFrom(t));

    public static TheoryData<string> ClientCommands() => [.. AccessPolicy.Commands.Keys.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(ClientCommands))]
    public void Each_role_may_send_the_commands_of_its_class_and_the_classes_below(string name)
    {
        var type = AccessPolicy.Commands.Keys.Single(t => t.Name == name);
        var commandClass = AccessPolicy.Commands[type];
        var expected = commandClass switch
        {
            CommandClass.Read => new[] { Role.Viewer, Role.Operator, Role.Admin },
            CommandClass.Lifecycle or CommandClass.Console => [Role.Operator, Role.Admin],
            _ => [Role.Admin],
        };
        Assert.Equal(expected, Roles.Where(r => AccessPolicy.Allows(r, type)));
    }

    [Fact]
    public void Reads_lifecycle_console_and_administration_fall_where_the_roles_say()
    {
        Assert.Equal(CommandClass.Read, AccessPolicy.ClassOf(typeof(Commands.ListVms)));
        Assert.Equal(CommandClass.Lifecycle, AccessPolicy.ClassOf(typeof(Commands.DeleteVm)));
        Assert.Equal(CommandClass.Lifecycle, AccessPolicy.ClassOf(typeof(Migration.MigrateVm)));
        Assert.Equal(CommandClass.Console, AccessPolicy.ClassOf(typeof(Commands.ConsoleInput)));
        Assert.Equal(CommandClass.Admin, AccessPolicy.ClassOf(typeof(DrainHost)));
        Assert.Equal(CommandClass.Admin, AccessPolicy.ClassOf(typeof(Hosts.LeaveHost)));
        Assert.Equal(CommandClass.Admin, AccessPolicy.ClassOf(typeof(RevokeToken)));
        Assert.Equal(CommandClass.AdminRead, AccessPolicy.ClassOf(typeof(ListAudit)));
        Assert.Equal(CommandClass.Admin, AccessPolicy.ClassOf(typeof(Networks.CreateNetwork)));
        Assert.Equal(CommandClass.Admin, AccessPolicy.ClassOf(typeof(Networks.DeleteNetwork)));
        Assert.Equal(CommandClass.Read, AccessPolicy.ClassOf(typeof(Networks.ListNetworks)));
        Assert.Equal(CommandClass.Read, AccessPolicy.ClassOf(typeof(Networks.GetNetwork)));
        Assert.False(AccessPolicy.IsAudited(CommandClass.Read));
        Assert.False(AccessPolicy.IsAudited(CommandClass.AdminRead));
        Assert.True(AccessPolicy.IsAudited(CommandClass.Lifecycle));
    }

    [Fact]
    public void Every_contract_is_a_classified_client_command_or_a_reply_event_or_internal_message()
    {
        var unclassified = Contracts()
            .Where(t => AccessPolicy.ClassOf(t) is null && !typeof(IVmReply).IsAssignableFrom(t) && !typeof(VmEvent).IsAssignableFrom(t)
                        && !typeof(RegistryEvent).IsAssignableFrom(t) && !typeof(IRebalancerEvent).IsAssignableFrom(t)
                        && !typeof(ITokenEvent).IsAssignableFrom(t) && !typeof(Networks.INetworkEvent).IsAssignableFrom(t)
                        && !NotClientCommands.Contains(t.Name))
            .Select(t => t.Name).Order().ToList();
        Assert.True(unclassified.Count == 0, $"classify these in AccessPolicy (or list them as not client commands): {string.Join(", ", unclassified)}");
    }

    [Fact]
    public void No_role_may_send_a_contract_that_is_not_a_client_command()
    {
        var allowed = Contracts().Where(t => AccessPolicy.ClassOf(t) is null)
            .SelectMany(t => Roles.Where(r => AccessPolicy.Allows(r, t)).Select(r => $"{r}:{t.Name}")).ToList();
        Assert.Empty(allowed);
        Assert.All(AccessPolicy.Commands.Keys, t => Assert.False(AccessPolicy.Allows(Role.None, t)));
        Assert.All(AccessPolicy.Commands.Keys, t => Assert.False(AccessPolicy.Allows((Role)7, t)));
    }
}
