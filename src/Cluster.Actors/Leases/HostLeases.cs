using Akka.Actor;

namespace Cluster.Actors.Leases;

/// <summary>
/// The node's host lease as the rest of the node reads it, without an Ask: the <see cref="HostLeaseKeeper"/> publishes an
/// immutable <see cref="HostLeaseView"/> here after every renewal; the worker runtimes bound their guests' run permits by it,
/// VM actors and migration sources check it. Also the lease store of the journal's database (<see cref="Store"/>, null when the
/// lease is off), which failover claims read the old owner's row through.
/// </summary>
public sealed class HostLeases : IExtension
{
    private HostLeaseView _view = HostLeaseView.None;

    /// <summary>Reads the settings and, when the lease is on, the journal's database from the system's config.</summary>
    public HostLeases(ExtendedActorSystem system)
    {
        Settings = HostLeaseSettings.From(system.Settings.Config);
        Store = Settings.Enabled ? LeaseStore.FromJournal(system.Settings.Config) : null;
    }

    /// <summary>The tunables.</summary>
    public HostLeaseSettings Settings { get; }

    /// <summary>The journal database's leases; null when the host lease is off (or the journal is not SQL).</summary>
    public LeaseStore? Store { get; }

    /// <summary>The latest snapshot (<see cref="HostLeaseView.None"/> until a keeper published one).</summary>
    public HostLeaseView View => Volatile.Read(ref _view);

    /// <summary>The keeper's publication of a new snapshot (the keeper is the only writer).</summary>
    internal void Publish(HostLeaseView view) => Volatile.Write(ref _view, view);

    /// <summary>The lease name of host <paramref name="host"/> ("host:" + its name, as VM claims name it).</summary>
    public static string LeaseName(string host) => $"host:{host}";

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static HostLeases Get(ActorSystem system) => system.WithExtension<HostLeases, HostLeasesProvider>();
}

/// <summary>Creates <see cref="HostLeases"/>.</summary>
public sealed class HostLeasesProvider : ExtensionIdProvider<HostLeases>
{
    /// <inheritdoc />
    public override HostLeases CreateExtension(ExtendedActorSystem system) => new(system);
}
