using Akka.Configuration;

namespace Cluster.Actors.Migration;

/// <summary>Tunables of live migration, from <c>cluster-hypervisor.migration</c>.</summary>
/// <param name="BindHost">The address the target's data socket listens on (never Akka.Remote: pages go over their own socket).</param>
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
    /// <summary>Loopback, ephemeral ports, two at once, 15 s steps, 30 s I/O, 10 min at most, 2 min parked, 5 min kept.</summary>
    public static MigrationSettings Default { get; } = new("127.0.0.1", 0, 2, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30),
        TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5));

    /// <summary>Reads the settings from <paramref name="config"/>.</summary>
    public static MigrationSettings From(Config config) => new(
        config.GetString("cluster-hypervisor.migration.bind-host", Default.BindHost),
        config.GetInt("cluster-hypervisor.migration.port", Default.Port),
        config.GetInt("cluster-hypervisor.migration.max-incoming", Default.MaxIncoming),
        config.GetTimeSpan("cluster-hypervisor.migration.step-timeout", Default.StepTimeout),
        config.GetTimeSpan("cluster-hypervisor.migration.io-timeout", Default.IoTimeout),
        config.GetTimeSpan("cluster-hypervisor.migration.max-duration", Default.MaxDuration),
        config.GetTimeSpan("cluster-hypervisor.migration.parked-for", Default.ParkedFor),
        config.GetTimeSpan("cluster-hypervisor.migration.keep-finished", Default.KeepFinished));
}
