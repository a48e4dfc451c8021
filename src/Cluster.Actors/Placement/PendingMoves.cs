using System.Collections.Immutable;
using Akka.Actor;
using Cluster.Contracts.Migration;

namespace Cluster.Actors.Placement;

/// <summary>
/// This node's set of VMs that migrated live and whose shard has not followed yet ("VM moved from A to B"),
/// read by the shard allocation strategy (which hands over exactly these shards) and written from the
/// cluster-wide <see cref="Migration.MigrationTopics.Moves"/> topic.
/// </summary>
/// <remarks>
/// An immutable snapshot holder rather than an actor: its reader, the allocation strategy, is not an actor and
/// answers synchronously, so it must read without asking. The set is an <see cref="ImmutableDictionary{TKey,TValue}"/>
/// replaced as a whole (<see cref="ImmutableInterlocked"/>); a reader works on the snapshot it read, never on a set
/// that changes under it.
/// </remarks>
public sealed class PendingMoves : IExtension
{
    private ImmutableDictionary<string, (VmMoved Move, DateTime At)> _moves = ImmutableDictionary.Create<string, (VmMoved, DateTime)>(StringComparer.Ordinal);

    /// <summary>The moves of <paramref name="system"/>.</summary>
    public static PendingMoves Get(ActorSystem system) => system.WithExtension<PendingMoves, PendingMovesProvider>();

    /// <summary>A move is forgotten after this long even if its shard never followed (its host went away).</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Records a move (a later one of the same VM replaces it).</summary>
    public void Add(VmMoved move) => ImmutableInterlocked.AddOrUpdate(ref _moves, move.VmId, (move, DateTime.UtcNow), (_, _) => (move, DateTime.UtcNow));

    /// <summary>The pending move of <paramref name="vmId"/>, or null.</summary>
    public VmMoved? Find(string vmId)
    {
        if (!Volatile.Read(ref _moves).TryGetValue(vmId, out var m))
            return null;
        if (DateTime.UtcNow - m.At < ForgetAfter)
            return m.Move;
        // Only this entry: a move recorded meanwhile stays.
        ImmutableInterlocked.Update(ref _moves, d => d.TryGetValue(vmId, out var now) && now == m ? d.Remove(vmId) : d);
        return null;
    }

    /// <summary>Forgets the move of <paramref name="vmId"/> once its shard is where the VM is.</summary>
    public void Done(string vmId) => ImmutableInterlocked.TryRemove(ref _moves, vmId, out _);
}

/// <summary>Creates the <see cref="PendingMoves"/> extension.</summary>
public sealed class PendingMovesProvider : ExtensionIdProvider<PendingMoves>
{
    public override PendingMoves CreateExtension(ExtendedActorSystem system) => new();
}
