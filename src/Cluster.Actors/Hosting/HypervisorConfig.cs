using Akka.Configuration;
using Akka.Persistence.Sql;
using Cluster.Actors.Persistence;

namespace Cluster.Actors.Hosting;

/// <summary>
/// Builds the configuration of a hypervisor ActorSystem: the overrides given, then hocon/node.conf and
/// hocon/base.conf from the HOCON folder, then the SQL persistence plugin's defaults
/// (plain HOCON does not load them), with the journal pointed at the data directory's SQLite file, a
/// shared SQLite file, or PostgreSQL.
/// </summary>
public static class HypervisorConfig
{
    /// <summary>The HOCON folder shipped next to the binaries.</summary>
    public static string DefaultHoconDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>
    /// The setup an ActorSystem of <paramref name="config"/> starts with: <paramref name="bootstrap"/> (by default the config
    /// alone), and for a SQLite journal the connection setup that makes the SQL plugins wait inside SQLite for a busy file
    /// (<see cref="Persistence.SqliteJournal.ConnectionSetup"/>).
    /// </summary>
    public static Akka.Actor.Setup.ActorSystemSetup Setup(Config config, Akka.Actor.Setup.ActorSystemSetup? bootstrap = null)
    {
        var setup = bootstrap ?? Akka.Actor.Setup.ActorSystemSetup.Create(Akka.Actor.BootstrapSetup.Create().WithConfig(config));
        return Persistence.SqliteJournal.ConnectionSetup(config) is { } journal ? setup.And(journal) : setup;
    }

    /// <summary>Loads and layers the configuration; prepares the journal file in WAL mode.</summary>
    /// <param name="hoconDirectory">Folder with base.conf and node.conf.</param>
    /// <param name="dataDirectory">The node's data directory (journal, snapshots).</param>
    /// <param name="overrides">Highest-priority settings (port, a user config file, test tunings).</param>
    /// <param name="cluster">Layer hocon/cluster.conf (cluster membership, sharding, placement) and hocon/rebalancer.conf over node.conf.</param>
    /// <param name="journal">The journal's location; null for the SQLite file in the data directory.</param>
    public static Config Load(string hoconDirectory, string dataDirectory, Config? overrides = null, bool cluster = false,
        JournalLocation? journal = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var journalConfig = (journal ?? new SqliteFile(Path.Combine(dataDirectory, SqliteJournal.FileName))).ToConfig(hoconDirectory);
        var files = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(hoconDirectory, "node.conf")))
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(hoconDirectory, "base.conf"))));
        if (cluster)
            files = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(hoconDirectory, "cluster.conf")))
                .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(hoconDirectory, "rebalancer.conf"))))
                .WithFallback(files);
        var dataDir = ConfigurationFactory.ParseString(
            $"cluster-hypervisor.data-dir = \"{Path.GetFullPath(dataDirectory).Replace("\\", "\\\\", StringComparison.Ordinal)}\"");
        return (overrides ?? Config.Empty)
            .WithFallback(journalConfig)
            .WithFallback(dataDir)
            .WithFallback(files)
            .WithFallback(SqlPersistence.DefaultConfiguration);
    }
}
