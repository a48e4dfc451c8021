using System.Collections.Concurrent;
using Akka.Actor;
using Cluster.Contracts.Migration;

namespace Cluster.Actors.Placement;

/// <summary>
/// This node's set of VMs that migrated live and whose shard has not followed yet ("VM moved from A to B"),
/// read by the shard allocation strategy (which hands over exactly these shards) and written from the
/// cluster-wide <see cref="Migration.MigrationTopics.Moves"/> topic. Thread-safe.
/// </summary>
public sealed class PendingMoves : IExtension
{
    private readonly ConcurrentDictionary<string, (VmMoved Move, DateTime At)> _moves = new(StringComparer.Ordinal);

    /// <summary>The moves of <paramref name="system"/>.</summary>
    public static PendingMoves Get(ActorSystem system) => system.WithExtension<PendingMoves, PendingMovesProvider>();

    /// <summary>A move is forgotten after this long even if its shard never followed (its host went away).</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Records a move (a later one of the same VM replaces it).</summary>
    public void Add(VmMoved move) => _moves[move.VmId] = (move, DateTime.UtcNow);

    /// <summary>The pending move of <paramref name="vmId"/>, or null.</summary>
    public VmMoved? Find(string vmId)
    {
        if (!_moves.TryGetValue(vmId, out var m))
            return null;
        if (DateTime.UtcNow - m.At < ForgetAfter)
            return m.Move;
        _moves.TryRemove(new KeyValuePair<string, (VmMoved, DateTime)>(vmId, m));
        return null;
    }

    /// <summary>Forgets the move of <paramref name="vmId"/> once its shard is where the VM is.</summary>
    public void Done(string vmId) => _moves.TryRemove(vmId, out _);
}

/// <summary>Creates the <see cref="PendingMoves"/> extension.</summary>
public sealed class PendingMovesProvider : ExtensionIdProvider<PendingMoves>
{
    public override PendingMoves CreateExtension(ExtendedActorSystem system) => new();
}
