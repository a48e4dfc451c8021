using Akka.Configuration;
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

    private static string ConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path }.ToString();
}
