using Akka.Configuration;

namespace Cluster.Actors.Persistence;

/// <summary>Where the journal and snapshots live: a SQLite file (one machine) or a PostgreSQL database (many hosts).</summary>
public abstract record JournalLocation
{
    /// <summary>The HOCON that points the SQL plugin here (provider, mapping and connection string).</summary>
    public abstract Config ToConfig(string hoconDirectory);

    /// <summary>Parses "sqlite:PATH" or "postgres:CONNECTION-STRING"; null with <paramref name="error"/> when neither.</summary>
    public static JournalLocation? Parse(string text, out string? error)
    {
        error = null;
        if (text.StartsWith("sqlite:", StringComparison.Ordinal) && text.Length > "sqlite:".Length)
            return new SqliteFile(text["sqlite:".Length..]);
        if (text.StartsWith("postgres:", StringComparison.Ordinal) && text.Length > "postgres:".Length)
            return new PostgresDatabase(text["postgres:".Length..]);
        error = $"bad journal '{text}': use sqlite:PATH or postgres:CONNECTION-STRING";
        return null;
    }
}

/// <summary>A SQLite file in WAL mode, shareable by the nodes of one machine.</summary>
public sealed record SqliteFile(string Path) : JournalLocation
{
    public override Config ToConfig(string hoconDirectory) => SqliteJournal.ConfigFor(SqliteJournal.PrepareFile(Path));
}

/// <summary>A PostgreSQL database (provider PostgreSQL.15, hocon/postgres.conf) given by an Npgsql connection string.</summary>
public sealed record PostgresDatabase(string ConnectionString) : JournalLocation
{
    public override Config ToConfig(string hoconDirectory)
    {
        var connection = ConnectionString.Replace("\"", "\\\"", StringComparison.Ordinal);
        return ConfigurationFactory.ParseString(
                $$"""
                akka.persistence.journal.sql.connection-string = "{{connection}}"
                akka.persistence.snapshot-store.sql.connection-string = "{{connection}}"
                """)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(System.IO.Path.Combine(hoconDirectory, "postgres.conf"))));
    }
}
