using System.Net;
using System.Net.Sockets;
using Akka.Configuration;

namespace Cluster.Actors.Migration;

/// <summary>Tunables of live migration, from <c>cluster-hypervisor.migration</c>.</summary>
/// <param name="BindHost">The address the target's data socket listens on and offers to the source (never Akka.Remote: pages
/// go over their own socket); by default the node's own Akka.Remote address (<see cref="NodeBindHost"/>).</param>
/// <param name="Port">The data port; 0 for an ephemeral one per migration.</param>
/// <param name="MaxIncoming">Incoming migrations a host takes at once.</param>
/// <param name="StepTimeout">The limit on each control step (reserve, prepare, lend, commit write).</param>
/// <param name="IoTimeout">The limit on each blocking send or receive of the page stream.</param>
/// <param name="MaxDuration">The most an incoming migration may take before the target gives it up.</param>
/// <param name="ParkedFor">How long a machine that arrived waits for its VM actor before it is dropped.</param>
/// <param name="KeepFinished">How long finished migrations stay in listings.</param>
public sealed record MigrationSettings(
    string BindHost, int Port, int MaxIncoming, TimeSpan StepTimeout, TimeSpan IoTimeout, TimeSpan MaxDuration,
    TimeSpan ParkedFor, TimeSpan KeepFinished)
{
    /// <summary>Whether this host, as a target, offers TLS page streams (the default); off only for benchmark comparisons.</summary>
    public bool Encrypted { get; init; } = true;

    /// <summary>How often a side whose commit outcome is unknown reads the VM's journal for it (<see cref="CommitResolver"/>).</summary>
    public TimeSpan CommitReadInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Loopback, ephemeral ports, two at once, 15 s steps, 30 s I/O, 10 min at most, 2 min parked, 5 min kept.</summary>
    public static MigrationSettings Default { get; } = new("127.0.0.1", 0, 2, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30),
        TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5));

    /// <summary>Reads the settings from <paramref name="config"/>; an empty <c>bind-host</c> (the default) is
    /// <see cref="NodeBindHost"/>.</summary>
    /// <exception cref="ConfigurationException">bind-host is empty and the node's host name does not resolve.</exception>
    public static MigrationSettings From(Config config) => new(
        config.GetString("cluster-hypervisor.migration.bind-host", "") is { Length: > 0 } bind ? bind : NodeBindHost(config),
        config.GetInt("cluster-hypervisor.migration.port", Default.Port),
        config.GetInt("cluster-hypervisor.migration.max-incoming", Default.MaxIncoming),
        config.GetTimeSpan("cluster-hypervisor.migration.step-timeout", Default.StepTimeout),
        config.GetTimeSpan("cluster-hypervisor.migration.io-timeout", Default.IoTimeout),
        config.GetTimeSpan("cluster-hypervisor.migration.max-duration", Default.MaxDuration),
        config.GetTimeSpan("cluster-hypervisor.migration.parked-for", Default.ParkedFor),
        config.GetTimeSpan("cluster-hypervisor.migration.keep-finished", Default.KeepFinished))
    {
        Encrypted = config.GetBoolean("cluster-hypervisor.migration.encrypted", Default.Encrypted),
    };

    /// <summary>
    /// The node's own Akka.Remote address (<c>akka.remote.dot-netty.tcp.hostname</c>, what <c>cluster-node run --host</c>
    /// sets), so that a target on a real network listens where its peers reach it (127.0.0.1 on a loopback cluster). A
    /// host name is resolved to its first address, IPv4 first (the source connects to the IP address the target offers);
    /// no hostname at all is 127.0.0.1.
    /// </summary>
    /// <exception cref="ConfigurationException">the host name does not resolve.</exception>
    public static string NodeBindHost(Config config)
    {
        var host = config.GetString("akka.remote.dot-netty.tcp.hostname", "");
        if (host.Length == 0) return Default.BindHost;
        if (IPAddress.TryParse(host, out _)) return host;
        IPAddress[] addresses;
        try { addresses = Dns.GetHostAddresses(host); }
        catch (SocketException e)
        {
            throw new ConfigurationException(
                $"cluster-hypervisor.migration.bind-host is empty and the node's host '{host}' does not resolve ({e.Message}): set one of them to an address");
        }
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new ConfigurationException($"cluster-hypervisor.migration.bind-host is empty and the node's host '{host}' has no address");
        return address.ToString();
    }
}
