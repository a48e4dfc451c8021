using Cluster.Actors.Migration;

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

/// <summary>To a VM actor: the answer (or a <see cref="Akka.Actor.Status.Failure"/>) to one control step of its outgoing migration.</summary>
internal sealed record MigrationStep(string MigrationId, string Step, object Reply);

/// <summary>To a VM actor on a migration's target host: the migrated guest (null when it did not arrive) it may adopt.</summary>
internal sealed record AdoptionReady(IncomingMigration Incoming, ParkedGuest? Guest);
