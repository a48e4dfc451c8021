using Akka.Configuration;

namespace Cluster.Actors.Downing;

/// <summary><c>cluster-hypervisor.link-downing</c> (hocon/cluster.conf).</summary>
public sealed record LinkDowningSettings(bool Enabled, TimeSpan DecideAfter, TimeSpan Settle, TimeSpan ForgetAfter)
{
    public static LinkDowningSettings From(Config config, TimeSpan stableAfter)
    {
        var section = config.GetConfig("cluster-hypervisor.link-downing");
        var settings = new LinkDowningSettings(
            section?.GetBoolean("enabled", true) ?? true,
            section?.GetTimeSpan("decide-after", TimeSpan.FromSeconds(1.5)) ?? TimeSpan.FromSeconds(1.5),
            section?.GetTimeSpan("settle", TimeSpan.FromMilliseconds(500)) ?? TimeSpan.FromMilliseconds(500),
            section?.GetTimeSpan("forget-after", TimeSpan.FromSeconds(10)) ?? TimeSpan.FromSeconds(10));
        // The decision must come before the resolver's own (stable-after after the last change) or it comes too late.
        if (settings.Enabled && settings.DecideAfter + settings.Settle >= stableAfter)
            throw new ConfigurationException(
                $"cluster-hypervisor.link-downing: decide-after + settle ({settings.DecideAfter + settings.Settle}) must be under " +
                $"akka.cluster.split-brain-resolver.stable-after ({stableAfter})");
        return settings;
    }
}
