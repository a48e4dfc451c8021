namespace Cluster.Contracts.Access;

/// <summary>
/// What a token's holder may do; each role includes the ones below it. <see cref="None"/> is reserved (an unset
/// value on the wire) and may do nothing.
/// </summary>
public enum Role
{
    /// <summary>Reserved: no rights.</summary>
    None = 0,
    /// <summary>Reads: hosts, VMs, their events, migrations, the rebalancer's status.</summary>
    Viewer = 1,
    /// <summary>A viewer that also runs the VM lifecycle (create, start, stop, delete, migrate) and the console.</summary>
    Operator = 2,
    /// <summary>An operator that also manages hosts (leave, drain), the rebalancer, networks, tokens and the audit log.</summary>
    Admin = 3,
}
