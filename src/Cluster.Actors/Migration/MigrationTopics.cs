namespace Cluster.Actors.Migration;

/// <summary>Cluster-wide pub-sub topics of live migration.</summary>
public static class MigrationTopics
{
    /// <summary>
    /// Every <see cref="Cluster.Contracts.Migration.MigrationInfo"/> change of state (preparing, pre-copy,
    /// stop-and-copy, committing, post-copy, completed, failed, cancelled), published by the source host.
    /// The rebalancer follows its moves here.
    /// </summary>
    public const string Progress = "vm-migrations";

    /// <summary>
    /// Every <see cref="Cluster.Contracts.Migration.VmMoved"/>: a VM that migrated and whose shard is to follow it.
    /// </summary>
    public const string Moves = "vm-moves";
}
