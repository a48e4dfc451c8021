using System.Collections.Immutable;
using Cluster.Actors.Placement;
using Cluster.Contracts.Migration;

namespace Cluster.Actors.Tests.Placement;

public class ResourceAwareAllocationStrategyTests
{
    private const string A = "127.0.0.1:4001";
    private const string B = "127.0.0.1:4002";

    private static Dictionary<string, IReadOnlyList<string>> Shards(string[] onA, string[] onB) =>
        new() { [A] = onA, [B] = onB };

    [Fact]
    public void Hands_over_exactly_the_shards_of_vms_that_migrated_away_and_nothing_else()
    {
        var moves = new PendingMoves();
        moves.Add(new VmMoved("m", A, B, "x1"));
        var handOver = ResourceAwareAllocationStrategy.ShardsToHandOver(moves, Shards(["m", "n", "o"], ["p"]), ImmutableHashSet<string>.Empty);
        Assert.Equal(["m"], handOver);
        Assert.Empty(ResourceAwareAllocationStrategy.ShardsToHandOver(new PendingMoves(), Shards(["m", "n"], ["p"]), ImmutableHashSet<string>.Empty));
    }

    [Fact]
    public void Leaves_a_shard_being_handed_over_alone_and_forgets_the_move_once_the_shard_followed()
    {
        var moves = new PendingMoves();
        moves.Add(new VmMoved("m", A, B, "x1"));
        Assert.Empty(ResourceAwareAllocationStrategy.ShardsToHandOver(moves, Shards(["m"], []), ImmutableHashSet.Create("m")));
        Assert.NotNull(moves.Find("m"));
        Assert.Empty(ResourceAwareAllocationStrategy.ShardsToHandOver(moves, Shards([], ["m"]), ImmutableHashSet<string>.Empty));
        Assert.Null(moves.Find("m"));
    }

    [Fact]
    public void A_move_back_replaces_the_earlier_one_and_old_moves_are_forgotten()
    {
        var moves = new PendingMoves();
        moves.Add(new VmMoved("m", A, B, "x1"));
        moves.Add(new VmMoved("m", B, A, "x2"));
        Assert.Equal(["m"], ResourceAwareAllocationStrategy.ShardsToHandOver(moves, Shards([], ["m"]), ImmutableHashSet<string>.Empty));
        Assert.Empty(ResourceAwareAllocationStrategy.ShardsToHandOver(moves, Shards(["m"], []), ImmutableHashSet<string>.Empty));
        moves.ForgetAfter = TimeSpan.Zero;
        moves.Add(new VmMoved("n", A, B, "x3"));
        Assert.Empty(ResourceAwareAllocationStrategy.ShardsToHandOver(moves, Shards(["n"], []), ImmutableHashSet<string>.Empty));
    }
}
