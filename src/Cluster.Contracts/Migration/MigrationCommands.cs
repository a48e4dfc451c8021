using Cluster.Contracts.Commands;
using MessagePack;

namespace Cluster.Contracts.Migration;

/// <summary>How a live migration converges.</summary>
public enum MigrationStrategy
{
    /// <summary>Chosen from the measured dirty rate and bandwidth: pre-copy, throttled pre-copy or post-copy; refused when none meets the limits.</summary>
    Auto = 0,
    /// <summary>Pre-copy rounds only (with auto-converge throttling when the guest dirties memory faster than the link carries).</summary>
    PreCopy = 1,
    /// <summary>The target runs at once and fetches missing pages on demand.</summary>
    PostCopy = 2,
}

/// <summary>Who asked for a migration.</summary>
public enum MigrationTrigger
{
    /// <summary>An operator (vmctl, HTTP API).</summary>
    Operator = 0,
    /// <summary>The rebalancer, to even out the hosts' loads.</summary>
    Rebalance = 1,
    /// <summary>A host drain (maintenance).</summary>
    Drain = 2,
}

/// <summary>The limits a migration must meet.</summary>
/// <param name="DowntimeMs">The longest pause of the guest allowed, in milliseconds.</param>
/// <param name="BandwidthBytesPerSecond">Bandwidth cap over all data connections; 0 for none.</param>
/// <param name="Strategy">How it converges.</param>
/// <param name="Connections">Parallel data connections (1 or more).</param>
[MessagePackObject]
public sealed record MigrationLimits(
    [property: Key(0)] int DowntimeMs,
    [property: Key(1)] long BandwidthBytesPerSecond,
    [property: Key(2)] MigrationStrategy Strategy,
    [property: Key(3)] int Connections) : IClusterMessage
{
    /// <summary>300 ms downtime, no bandwidth cap, auto, one connection.</summary>
    public static MigrationLimits Default { get; } = new(300, 0, MigrationStrategy.Auto, 1);
}

/// <summary>
/// Why a migration happens, kept with its events so that "why did my VM move" has an answer:
/// <paramref name="Summary"/> in words and <paramref name="Inputs"/> the figures the decision used
/// (host loads, scores, expected gain and cost).
/// </summary>
[MessagePackObject]
public sealed record MigrationCause(
    [property: Key(0)] MigrationTrigger Trigger,
    [property: Key(1)] string Summary,
    [property: Key(2)] IReadOnlyDictionary<string, string> Inputs) : IClusterMessage
{
    /// <summary>An operator's request.</summary>
    public static MigrationCause ByOperator { get; } = new(MigrationTrigger.Operator, "requested by an operator", new Dictionary<string, string>());
}

/// <summary>
/// Moves a running VM live to <paramref name="TargetHost"/> ("host:port"). Answered at once with
/// <see cref="MigrationAccepted"/> or <see cref="Replies.NotAllowed"/> (not running, already migrating,
/// unknown or unsuitable target); the outcome is in <see cref="ListMigrations"/> and the VM's events.
/// </summary>
[MessagePackObject]
public sealed record MigrateVm(
    [property: Key(0)] string VmId,
    [property: Key(1)] string TargetHost,
    [property: Key(2)] MigrationLimits Limits,
    [property: Key(3)] MigrationCause Cause) : IVmCommand;

/// <summary>Cancels the VM's migration; before the commit the VM keeps running on its source host.</summary>
[MessagePackObject]
public sealed record CancelMigration([property: Key(0)] string VmId) : IVmCommand;

/// <summary>The migration has begun.</summary>
[MessagePackObject]
public sealed record MigrationAccepted(
    [property: Key(0)] string VmId,
    [property: Key(1)] string MigrationId,
    [property: Key(2)] string SourceHost,
    [property: Key(3)] string TargetHost) : Replies.IVmReply, IWithVmId;

/// <summary>The cancellation reached the migration (its outcome follows in its events).</summary>
[MessagePackObject]
public sealed record MigrationCancelling([property: Key(0)] string VmId, [property: Key(1)] string MigrationId) : Replies.IVmReply, IWithVmId;

/// <summary>Asks the cluster for the migrations in progress and the recently finished ones; answered with <see cref="MigrationList"/>.</summary>
public sealed class ListMigrations : IClusterMessage
{
    /// <summary>The one instance.</summary>
    public static ListMigrations Instance { get; } = new();

    private ListMigrations()
    {
    }
}

/// <summary>Migrations, in progress first, then finished ones, newest first.</summary>
[MessagePackObject]
public sealed record MigrationList([property: Key(0)] IReadOnlyList<MigrationInfo> Migrations) : Replies.IVmReply;
