namespace Cluster.Actors.Vms;

/// <summary>
/// The shard's hand-off stop message for VM entities: an entity whose VM migrated away re-sends the commands
/// it held back to the shard region (which buffers them during the hand-off and delivers them on the VM's new
/// host), then stops; any other entity just stops.
/// </summary>
public sealed class MigrationHandOff
{
    public static MigrationHandOff Instance { get; } = new();

    private MigrationHandOff()
    {
    }
}

/// <summary>
/// To a VM actor on a migration's target host, from its wait on the arrival: whether the guest of migration
/// <paramref name="MigrationId"/> arrived in time (the actor reads it from the <see cref="Migration.IncomingMigration"/> it took).
/// </summary>
internal sealed record AdoptionReady(string MigrationId, bool Arrived);
