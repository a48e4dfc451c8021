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

    [Fact]
    public void Every_connection_the_sql_plugins_open_waits_inside_sqlite_for_a_busy_file()
    {
        var data = TestConfig.NewDataDirectory();
        var config = SqliteJournal.ConfigFor(SqliteJournal.Prepare(data)).WithFallback(
            Akka.Configuration.ConfigurationFactory.ParseString("akka.persistence.journal.sql.provider-name = \"SQLite.MS\""));
        var options = SqliteJournal.DataOptionsFor(config);
        Assert.NotNull(options);
        Assert.IsType<Akka.Persistence.Sql.Config.DataOptionsSetup>(SqliteJournal.ConnectionSetup(config));
        for (int i = 0; i < 2; i++) // a pooled connection opened again gets it again
        {
            using var db = new LinqToDB.Data.DataConnection(options);
            Assert.Equal(SqliteJournal.BusyTimeoutMs, LinqToDB.Data.DataContextExtensions.Execute<long>(db, "PRAGMA busy_timeout"));
        }
    }

    [Fact]
    public void A_postgresql_journal_gets_no_sqlite_setup()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            akka.persistence.journal.sql.provider-name = "PostgreSQL.15"
            akka.persistence.journal.sql.connection-string = "Host=127.0.0.1;Port=55432"
            """);
        Assert.Null(SqliteJournal.ConnectionSetup(config));
    }
}
