namespace Cluster.Vmctl.Cli;

/// <summary>The process exit codes of vmctl (also listed in its usage text).</summary>
public static class ExitCodes
{
    /// <summary>The command was carried out.</summary>
    public const int Ok = 0;

    /// <summary>The node refused: not allowed in the VM's state, no such VM, or an invalid spec.</summary>
    public const int Refused = 1;

    /// <summary>Bad command line.</summary>
    public const int Usage = 2;

    /// <summary>The node did not answer (not running, wrong address, or too slow).</summary>
    public const int Unreachable = 3;

    /// <summary>The node answered something vmctl did not expect.</summary>
    public const int Unexpected = 4;

    /// <summary>A followed operation ended badly: a migration failed or was cancelled, a drain left VMs behind.</summary>
    public const int Failed = 5;

    /// <summary>The node's access gate refused: no valid token (unknown, expired, revoked) or a role that may not.</summary>
    public const int Denied = 6;
}
