namespace Cluster.Vmm.Migration;

/// <summary>How a source converges when the guest dirties memory fast: pre-copy, throttling, post-copy.</summary>
public enum MigrationMode
{
    /// <summary>Pre-copy rounds only; fails (VM kept on the source) when it does not converge within the rounds allowed.</summary>
    PreCopy,
    /// <summary>Pre-copy, throttling the vCPUs progressively (from the second dirty round on) while the guest dirties at least
    /// half as fast as the link carries.</summary>
    AutoConverge,
    /// <summary>Decides from the measured dirty rate and bandwidth: pre-copy while rounds shrink, throttling when the
    /// dirty rate outruns the link, post-copy (when <see cref="MigrationOptions.AllowPostCopy"/> and the target can)
    /// when even the most throttling would not meet the downtime limit or the rounds run out, and a refusal with
    /// the figures when nothing can.</summary>
    Auto,
    /// <summary>Post-copy: after the bulk round 0 (or at once, see <see cref="MigrationOptions.PostCopyAfterBulkRound"/>)
    /// the source pauses, the target runs the VM at once and fetches the pages it still lacks on demand while
    /// the source pushes the rest. Downtime is the state alone; but once the target runs, a lost connection
    /// loses the VM (see <see cref="MigrationProtocol"/>).</summary>
    PostCopy,
}

/// <summary>Tunables of a migration source.</summary>
public sealed record MigrationOptions
{
    /// <summary>The longest pause allowed: stop-and-copy starts once the remaining dirty bytes over the
    /// measured end-to-end bandwidth fit in it and rounds no longer shrink (by a tenth or more).</summary>
    public TimeSpan DowntimeLimit { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The pause aimed at: while rounds keep shrinking the source iterates until the remaining
    /// dirty bytes fit in this, however far under <see cref="DowntimeLimit"/> they already are.</summary>
    public TimeSpan DowntimeTarget { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Bandwidth cap in bytes per second over all connections; 0 for none.</summary>
    public long MaxBandwidth { get; init; }

    /// <summary>Connections carrying pages (the first also carries control); pages are partitioned across them.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>Whether re-sent pages may go as XBZRLE deltas.</summary>
    public bool Xbzrle { get; init; } = true;

    /// <summary>Memory for the XBZRLE cache of sent pages, over all connections.</summary>
    public long XbzrleCacheBytes { get; init; } = 64L << 20;

    /// <summary>How the source converges.</summary>
    public MigrationMode Mode { get; init; } = MigrationMode.Auto;

    /// <summary>Whether <see cref="MigrationMode.Auto"/> may switch to post-copy when pre-copy and throttling
    /// cannot meet the limits (otherwise it refuses).</summary>
    public bool AllowPostCopy { get; init; } = true;

    /// <summary>For <see cref="MigrationMode.PostCopy"/>: whether the bulk round 0 goes first (the target then
    /// lacks only the pages dirtied since), or the VM moves at once with every page fetched afterwards.</summary>
    public bool PostCopyAfterBulkRound { get; init; } = true;

    /// <summary>Dirty rounds after round 0 before the migration is given up as not converging.</summary>
    public int MaxRounds { get; init; } = 30;

    /// <summary>The first throttle (percent of vCPU time taken away) and each further step.</summary>
    public int ThrottleInitial { get; init; } = 20;

    /// <summary>The throttle added each round while the dirty rate still outruns the link.</summary>
    public int ThrottleIncrement { get; init; } = 10;

    /// <summary>The most throttling allowed.</summary>
    public int ThrottleMax { get; init; } = 99;

    /// <summary>
    /// In <see cref="MigrationMode.Auto"/> and <see cref="MigrationMode.AutoConverge"/>: when the dirty bytes already fit
    /// <see cref="DowntimeLimit"/> but no longer shrink towards <see cref="DowntimeTarget"/> (a working set the guest rewrites
    /// faster than a round sends it), how many more rounds the source runs with the vCPUs throttled (a step more each round)
    /// before it stops and copies what is left. Each costs about one round's time; 0 stops at once (within the limit).
    /// </summary>
    public int ConvergeRounds { get; init; } = 3;

    /// <summary>The limit on each blocking send or receive.</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs between the target's Ready and Resume: the point where ownership moves (the actor layer
    /// persists it here). A throw or a cancellation aborts the migration and the VM keeps running on
    /// the source. Default: proceed.
    /// </summary>
    public Func<CancellationToken, Task>? Commit { get; init; }

    /// <summary>Whether the source machine is stopped and disposed once the target runs the VM.</summary>
    public bool DisposeSourceOnSuccess { get; init; } = true;
}
