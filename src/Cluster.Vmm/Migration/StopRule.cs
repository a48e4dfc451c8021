namespace Cluster.Vmm.Migration;

/// <summary>What a pre-copy source does after measuring the pages dirtied during a round.</summary>
public enum StopDecision
{
    /// <summary>Pause and send the rest (stop-and-copy): it fits the aim, or fits the limit and cannot get smaller.</summary>
    StopAndCopy,

    /// <summary>Within the limit but no longer shrinking: one more round with the vCPUs throttled a step more.</summary>
    Converge,

    /// <summary>Still shrinking, or still over the limit: another round (the caller's convergence checks apply).</summary>
    Continue,
}

/// <summary>
/// The stop rule of pre-copy, pure so that it is tested by cases: stop once the dirty bytes would be sent within the aim
/// (<see cref="MigrationOptions.DowntimeTarget"/>); while rounds shrink by a tenth or more, go on; once they no longer
/// shrink but fit the limit, stop, unless auto-converge may still throttle (<see cref="MigrationOptions.ConvergeRounds"/>)
/// and the set is large enough for its pause to matter (<see cref="ConvergeMinPages"/>: below it the bandwidth estimate of
/// small rounds is noise, and a pause for a few pages is short whatever the estimate says).
/// </summary>
public static class StopRule
{
    /// <summary>The fewest dirty pages (1 MiB) for which throttled rounds are run rather than stopping within the limit.</summary>
    public const long ConvergeMinPages = 256;

    /// <summary>The decision after a round that left <paramref name="dirtyPages"/> dirty (the one before left
    /// <paramref name="previousDirty"/>), expected to take <paramref name="expected"/> to send.</summary>
    public static StopDecision Decide(long dirtyPages, long previousDirty, TimeSpan expected, TimeSpan aim, TimeSpan limit, bool mayConverge)
    {
        if (dirtyPages == 0 || expected <= aim)
            return StopDecision.StopAndCopy;
        bool shrinking = dirtyPages < previousDirty * 9 / 10;
        if (shrinking || expected > limit)
            return StopDecision.Continue;
        return mayConverge && dirtyPages >= ConvergeMinPages ? StopDecision.Converge : StopDecision.StopAndCopy;
    }
}
