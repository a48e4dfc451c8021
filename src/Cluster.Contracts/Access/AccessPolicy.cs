using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Contracts.Access;

/// <summary>What kind of request a client command is, which decides the role it needs.</summary>
public enum CommandClass
{
    /// <summary>Reads the cluster's state: viewer.</summary>
    Read = 0,
    /// <summary>Changes a VM (lifecycle, live migration): operator.</summary>
    Lifecycle = 1,
    /// <summary>Reads or types into a VM's serial console: operator.</summary>
    Console = 2,
    /// <summary>Manages hosts, drains, the rebalancer, networks and tokens: admin.</summary>
    Admin = 3,
    /// <summary>Reads what only admins may see (the tokens, the audit log): admin.</summary>
    AdminRead = 4,
}

/// <summary>
/// The one place that decides which role may send which command, for the HTTP API and the ClusterClient path alike
/// (both go through the node's access gate). A type that is not a client command (a reply, an event, a message between
/// the cluster's own actors) is refused to every role.
/// </summary>
public static class AccessPolicy
{
    private static readonly IReadOnlyDictionary<Type, CommandClass> Classes = new Dictionary<Type, CommandClass>
    {
        [typeof(ListVms)] = CommandClass.Read,
        [typeof(ListHosts)] = CommandClass.Read,
        [typeof(GetVm)] = CommandClass.Read,
        [typeof(GetVmEvents)] = CommandClass.Read,
        [typeof(ListMigrations)] = CommandClass.Read,
        [typeof(GetRebalanceStatus)] = CommandClass.Read,
        [typeof(ListNetworks)] = CommandClass.Read,
        [typeof(GetNetwork)] = CommandClass.Read,
        [typeof(CreateVm)] = CommandClass.Lifecycle,
        [typeof(StartVm)] = CommandClass.Lifecycle,
        [typeof(PauseVm)] = CommandClass.Lifecycle,
        [typeof(ResumeVm)] = CommandClass.Lifecycle,
        [typeof(StopVm)] = CommandClass.Lifecycle,
        [typeof(DeleteVm)] = CommandClass.Lifecycle,
        [typeof(UpdateVmSpec)] = CommandClass.Lifecycle,
        [typeof(MigrateVm)] = CommandClass.Lifecycle,
        [typeof(CancelMigration)] = CommandClass.Lifecycle,
        [typeof(ConsoleTail)] = CommandClass.Console,
        [typeof(ConsoleAttach)] = CommandClass.Console,
        [typeof(ConsoleDetach)] = CommandClass.Console,
        [typeof(ConsoleInput)] = CommandClass.Console,
        [typeof(LeaveHost)] = CommandClass.Admin,
        [typeof(DrainHost)] = CommandClass.Admin,
        [typeof(UndrainHost)] = CommandClass.Admin,
        [typeof(SetRebalanceMode)] = CommandClass.Admin,
        [typeof(CreateNetwork)] = CommandClass.Admin,
        [typeof(DeleteNetwork)] = CommandClass.Admin,
        [typeof(CreateToken)] = CommandClass.Admin,
        [typeof(ImportToken)] = CommandClass.Admin,
        [typeof(ListTokens)] = CommandClass.AdminRead,
        [typeof(RevokeToken)] = CommandClass.Admin,
        [typeof(ListAudit)] = CommandClass.AdminRead,
    };

    /// <summary>Every client command type with its class.</summary>
    public static IReadOnlyDictionary<Type, CommandClass> Commands => Classes;

    /// <summary>The class of <paramref name="command"/>, or null when it is no client command.</summary>
    public static CommandClass? ClassOf(Type command) => Classes.TryGetValue(command, out var c) ? c : null;

    /// <summary>The least role that may send a command of <paramref name="commandClass"/>.</summary>
    public static Role Needs(CommandClass commandClass) => commandClass switch
    {
        CommandClass.Read => Role.Viewer,
        CommandClass.Lifecycle or CommandClass.Console => Role.Operator,
        _ => Role.Admin,
    };

    /// <summary>Whether <paramref name="role"/> may send a command of type <paramref name="command"/>.</summary>
    public static bool Allows(Role role, Type command) =>
        ClassOf(command) is { } c && role is Role.Viewer or Role.Operator or Role.Admin && role >= Needs(c);

    /// <summary>Whether the gate records accepted commands of this class in the audit log (every class but the reads).</summary>
    public static bool IsAudited(CommandClass commandClass) => commandClass is not (CommandClass.Read or CommandClass.AdminRead);
}
