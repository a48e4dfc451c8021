using Cluster.Actors.Persistence;
using Cluster.Actors.Tests.TestUtils;
using Microsoft.Data.Sqlite;

namespace Cluster.Actors.Tests.Persistence;

public class SqliteJournalTests
{
    [Fact]
    public void Prepares_the_journal_file_in_wal_mode()
    {
        var path = SqliteJournal.Prepare(TestConfig.NewDataDirectory());
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void Points_journal_and_snapshot_store_at_the_file()
    {
        var config = SqliteJournal.ConfigFor("/data/journal.db");
        Assert.Contains("/data/journal.db", config.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Contains("/data/journal.db", config.GetString("akka.persistence.snapshot-store.sql.connection-string"));
    }
}
