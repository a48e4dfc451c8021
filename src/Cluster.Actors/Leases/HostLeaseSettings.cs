using Akka.Configuration;

namespace Cluster.Actors.Leases;

/// <summary>The host lease's tunables (<c>cluster-hypervisor.lease</c>).</summary>
/// <param name="Enabled">Whether this node keeps a host lease (a cluster host: on; a single host: off).</param>
/// <param name="Ttl">How long one renewal holds the lease, by the database's clock.</param>
/// <param name="RenewEvery">How often the keeper renews it (a third of <paramref name="Ttl"/>: two renewals may fail).</param>
/// <param name="DriftMargin">
/// What the node takes off each renewal's <paramref name="Ttl"/> before it counts the lease as held on its own monotonic
/// clock: it covers the clock-rate drift between the node and the database over one ttl (the safety bound: the node's clock
/// runs at most <c>DriftMargin / Ttl</c> slower than the database's, 200 ms / 6 s = 3.3 %), and the hop from the node to a
/// VMM worker's permit.
/// </param>
public sealed record HostLeaseSettings(bool Enabled, TimeSpan Ttl, TimeSpan RenewEvery, TimeSpan DriftMargin)
{
    /// <summary>The lease held locally for at most this long after a renewal was sent.</summary>
    public TimeSpan HeldFor => Ttl - DriftMargin;

    /// <summary>Reads <c>cluster-hypervisor.lease</c>; off when the section is absent.</summary>
    /// <exception cref="ArgumentException">a margin not below the ttl, or a renewal period not below it.</exception>
    public static HostLeaseSettings From(Config config)
    {
        var ttl = config.GetTimeSpan("cluster-hypervisor.lease.ttl", TimeSpan.FromSeconds(6));
        var settings = new HostLeaseSettings(
            config.GetBoolean("cluster-hypervisor.lease.enabled", false),
            ttl,
            config.GetTimeSpan("cluster-hypervisor.lease.renew-every", ttl / 3),
            config.GetTimeSpan("cluster-hypervisor.lease.drift-margin", TimeSpan.FromMilliseconds(200)));
        if (settings.DriftMargin < TimeSpan.Zero || settings.DriftMargin >= settings.Ttl)
            throw new ArgumentException($"cluster-hypervisor.lease.drift-margin ({settings.DriftMargin}) must be below the ttl ({settings.Ttl})");
        if (settings.RenewEvery <= TimeSpan.Zero || settings.RenewEvery >= settings.HeldFor)
            throw new ArgumentException($"cluster-hypervisor.lease.renew-every ({settings.RenewEvery}) must be below ttl - drift-margin ({settings.HeldFor})");
        return settings;
    }
}
