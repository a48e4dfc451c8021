namespace Cluster.Actors.Downing;

/// <summary><c>cluster-hypervisor.link-downing</c> (hocon/cluster.conf).</summary>
public sealed record LinkDowningSettings(bool Enabled, TimeSpan DecideAfter, TimeSpan Settle, TimeSpan ForgetAfter)
{
    /// <summary>True when decide-after and settle were shrunk to fit under a short stable-after.</summary>
    public bool Shrunk { get; init; }

    public static LinkDowningSettings From(Akka.Configuration.Config config, TimeSpan stableAfter)
    {
        var section = config.GetConfig("cluster-hypervisor.link-downing");
        var settings = new LinkDowningSettings(
            section?.GetBoolean("enabled", true) ?? true,
            section?.GetTimeSpan("decide-after", TimeSpan.FromSeconds(1)) ?? TimeSpan.FromSeconds(1),
            section?.GetTimeSpan("settle", TimeSpan.FromMilliseconds(500)) ?? TimeSpan.FromMilliseconds(500),
            section?.GetTimeSpan("forget-after", TimeSpan.FromSeconds(10)) ?? TimeSpan.FromSeconds(10));
        // The decision must come before the resolver's own (stable-after after the last change) or it comes too late: with a
        // shorter stable-after (tests), both shrink to fit (decide-after half of it, settle a quarter).
        if (settings.DecideAfter + settings.Settle >= stableAfter)
            settings = settings with { DecideAfter = stableAfter / 2, Settle = stableAfter / 4, Shrunk = true };
        return settings;
    }
}
