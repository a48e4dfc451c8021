using System.Data.Common;
using System.Globalization;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using Microsoft.Data.Sqlite;

namespace Cluster.Actors.Persistence;

/// <summary>
/// The embedded default journal and snapshot store: one SQLite file in the node's data directory,
/// switched to WAL mode before the journal opens it (several writers on one file fail without it).
/// </summary>
public static class SqliteJournal
{
    /// <summary>The journal file name inside the data directory.</summary>
    public const string FileName = "journal.db";

    /// <summary>Creates the data directory and the database file in WAL mode; returns the file's path.</summary>
    public static string Prepare(string dataDirectory) => PrepareFile(Path.Combine(dataDirectory, FileName));

    /// <summary>Creates the database file <paramref name="file"/> (and its folder) in WAL mode; returns its full path.</summary>
    public static string PrepareFile(string file)
    {
        var path = Path.GetFullPath(file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var connection = new SqliteConnection(ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite refused WAL mode for {path} (got '{mode}')");
        return path;
    }

    /// <summary>HOCON that points the SQL journal and snapshot store at <paramref name="databasePath"/>.</summary>
    public static Config ConfigFor(string databasePath)
    {
        var connection = ConnectionString(databasePath).Replace("\"", "\\\"", StringComparison.Ordinal);
        return ConfigurationFactory.ParseString(
            $$"""
            akka.persistence.journal.sql.connection-string = "{{connection}}"
            akka.persistence.snapshot-store.sql.connection-string = "{{connection}}"
            # Reads in a deferred transaction (Microsoft.Data.Sqlite opens every other level with BEGIN IMMEDIATE, which takes
            # the write lock): in WAL mode a reader then never waits for a writer, and sees a consistent snapshot. With the
            # default, a VM's recovery beside another actor's write got SQLITE_BUSY and slept 150 ms before its retry.
            akka.persistence.journal.sql.read-isolation-level = read-uncommitted
            akka.persistence.snapshot-store.sql.read-isolation-level = read-uncommitted
            # One writer: SQLite takes one write transaction at a time, and the plugin's three parallel writers only met in
            # SQLITE_BUSY (each retry a 150 ms sleep in Microsoft.Data.Sqlite); writes queued meanwhile go in the next batch.
            akka.persistence.journal.sql.parallelism = 1
            """);
    }

    /// <summary>
    /// How long a statement waits inside SQLite for another connection's write lock (<c>PRAGMA busy_timeout</c>). Without it
    /// Microsoft.Data.Sqlite gets SQLITE_BUSY at once and sleeps 150 ms before each retry: hosts of one machine sharing the
    /// journal file met that beside each other's writes (a migration commit's journal write took 300 ms, inside the guest's
    /// pause). SQLite's own handler retries after 1, 2, 5, 10 ... ms.
    /// </summary>
    public const int BusyTimeoutMs = 5000;

    /// <summary>
    /// The setup that makes the SQL journal, snapshot store and read journal set <see cref="BusyTimeoutMs"/> on every
    /// connection they open, when <paramref name="config"/>'s journal is SQLite; null for any other database.
    /// </summary>
    public static Setup? ConnectionSetup(Config config) => DataOptionsFor(config) is { } options ? new DataOptionsSetup(options) : null;

    /// <summary>The connection options of <see cref="ConnectionSetup"/>; null when the journal is not SQLite.</summary>
    public static DataOptions? DataOptionsFor(Config config)
    {
        var provider = config.GetString("akka.persistence.journal.sql.provider-name", "");
        var connection = config.GetString("akka.persistence.journal.sql.connection-string", "");
        if (!provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(connection))
            return null;
        var snapshots = config.GetString("akka.persistence.snapshot-store.sql.connection-string", connection);
        if (!string.Equals(snapshots, connection, StringComparison.Ordinal))
            return null; // one setup serves every plugin: only when they share the file (always, as HypervisorConfig writes it)
        return new DataOptions()
            .UseConnectionString(provider, connection)
            .UseAfterConnectionOpened(SetBusyTimeout, (c, ct) => SetBusyTimeoutAsync(c, BusyTimeoutMs, ct));
    }

    /// <summary>Sets <see cref="BusyTimeoutMs"/> on an open SQLite connection.</summary>
    public static void SetBusyTimeout(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = BusyTimeoutPragma(BusyTimeoutMs);
        command.ExecuteNonQuery();
    }

    /// <summary>Sets a busy timeout of <paramref name="milliseconds"/> on an open SQLite connection.</summary>
    public static async Task SetBusyTimeoutAsync(DbConnection connection, int milliseconds, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = BusyTimeoutPragma(milliseconds);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static string BusyTimeoutPragma(int milliseconds) =>
        string.Create(CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = {milliseconds};");

    private static string ConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path }.ToString();
}
