using System.Data.Common;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Actors.Leases;

/// <summary>A lease row as the database sees it now: who holds it and how long it has left by the database's clock.</summary>
/// <param name="Owner">The holder (for a host lease: the host's name, '#', and the node incarnation's uid).</param>
/// <param name="RemainingMs">Milliseconds until it expires by the database's clock (0 or less: expired).</param>
public sealed record LeaseRow(string Owner, long RemainingMs)
{
    /// <summary>Whether the row still holds by the database's clock.</summary>
    public bool Unexpired => RemainingMs > 0;
}

/// <summary>
/// Leases kept in the journal's own database, table <c>host_leases(name PRIMARY KEY, owner, expires_at_ms)</c>, every expiry
/// measured by the database's clock (never a node's): acquire and renew are one atomic statement (insert, or update where
/// the row expired or is already ours), whose affected row count says whether we hold it; release deletes only our row.
/// Each call opens its own connection (no pooling for SQLite, so a file that went away fails the next call at once) with a
/// short timeout: a lease call that waits longer than the lease is worth nothing.
/// </summary>
public abstract class LeaseStore
{
    private readonly SemaphoreSlim _init = new(1, 1);
    private volatile bool _created;

    /// <summary>The database's clock, in milliseconds since the Unix epoch, as an SQL expression.</summary>
    protected abstract string DbNowMs { get; }

    /// <summary>What the store points at, for logs (no secrets).</summary>
    public abstract string Describe { get; }

    /// <summary>Opens a new connection to the database.</summary>
    protected abstract DbConnection Connect();

    /// <summary>Runs on every connection once it is open (SQLite: its busy timeout).</summary>
    protected virtual Task OpenedAsync(DbConnection connection, CancellationToken ct) => Task.CompletedTask;

    /// <summary>The statement that creates the table when it is missing.</summary>
    protected virtual string CreateTable =>
        "CREATE TABLE IF NOT EXISTS host_leases (name TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, expires_at_ms BIGINT NOT NULL)";

    /// <summary>
    /// Acquires or renews <paramref name="name"/> for <paramref name="owner"/> until the database's now + <paramref name="ttl"/>:
    /// true when we hold it now (it was free, expired, or ours). <paramref name="takeOverPrefix"/>, when given, also takes a
    /// row whose owner starts with it (a host's new incarnation takes its own host's row at once: the old one is gone).
    /// </summary>
    /// <exception cref="DbException">the database could not be asked (the outcome is unknown).</exception>
    public async Task<bool> TryAcquireAsync(string name, string owner, TimeSpan ttl, string? takeOverPrefix = null, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"""
            INSERT INTO host_leases (name, owner, expires_at_ms) VALUES (@name, @owner, {DbNowMs} + @ttl)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at_ms = excluded.expires_at_ms
            WHERE host_leases.owner = excluded.owner OR host_leases.expires_at_ms <= {DbNowMs}
               OR (@prefix <> '' AND substr(host_leases.owner, 1, length(@prefix)) = @prefix)
            """;
        Add(command, "name", name);
        Add(command, "owner", owner);
        Add(command, "ttl", (long)ttl.TotalMilliseconds);
        Add(command, "prefix", takeOverPrefix ?? "");
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    /// <summary>Deletes <paramref name="name"/> if <paramref name="owner"/> holds it (expired or not); true when a row went.</summary>
    public async Task<bool> ReleaseAsync(string name, string owner, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM host_leases WHERE name = @name AND owner = @owner";
        Add(command, "name", name);
        Add(command, "owner", owner);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    /// <summary>The row of <paramref name="name"/> with its time left by the database's clock; null when there is none.</summary>
    public async Task<LeaseRow?> ReadAsync(string name, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT owner, expires_at_ms - {DbNowMs} FROM host_leases WHERE name = @name";
        Add(command, "name", name);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? new LeaseRow(reader.GetString(0), reader.GetInt64(1)) : null;
    }

    /// <summary>
    /// The store of the journal's database as configured (<c>akka.persistence.journal.sql</c>: provider SQLite.MS or
    /// PostgreSQL.*, and its connection string); null when the journal is not a SQL one this store speaks.
    /// </summary>
    public static LeaseStore? FromJournal(Config config)
    {
        var provider = config.GetString("akka.persistence.journal.sql.provider-name", "");
        var connection = config.GetString("akka.persistence.journal.sql.connection-string", "");
        if (connection.Length == 0)
            return null;
        if (provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            return new SqliteLeaseStore(connection);
        if (provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase))
            return new PostgresLeaseStore(connection);
        return null;
    }

    private async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = Connect();
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            await OpenedAsync(connection, ct).ConfigureAwait(false);
            if (!_created)
                await EnsureTableAsync(connection, ct).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task EnsureTableAsync(DbConnection connection, CancellationToken ct)
    {
        await _init.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_created)
                return;
            await using var command = connection.CreateCommand();
            command.CommandText = CreateTable;
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            _created = true;
        }
        finally
        {
            _init.Release();
        }
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary>Leases in a SQLite file (the journal's, in WAL mode): the database's clock is the machine's wall clock.</summary>
public sealed class SqliteLeaseStore(string connectionString) : LeaseStore
{
    private readonly string _connection = new SqliteConnectionStringBuilder(connectionString)
    {
        Pooling = false,
        DefaultTimeout = 2,
        Mode = SqliteOpenMode.ReadWrite,
    }.ToString();

    /// <inheritdoc />
    protected override string DbNowMs => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

    /// <inheritdoc />
    public override string Describe => $"SQLite {new SqliteConnectionStringBuilder(_connection).DataSource}";

    /// <inheritdoc />
    protected override DbConnection Connect() => new SqliteConnection(_connection);

    /// <inheritdoc />
    protected override Task OpenedAsync(DbConnection connection, CancellationToken ct) =>
        // Wait inside SQLite for another host's write (finely), not in Microsoft.Data.Sqlite's 150 ms sleeps; within the
        // store's 2 s command timeout.
        Persistence.SqliteJournal.SetBusyTimeoutAsync(connection, 1000, ct);
}

/// <summary>Leases in a PostgreSQL database: the database server's clock (<c>clock_timestamp()</c>, not the transaction's start).</summary>
public sealed class PostgresLeaseStore(string connectionString) : LeaseStore
{
    private readonly string _connection = new NpgsqlConnectionStringBuilder(connectionString)
    {
        Timeout = 2,
        CommandTimeout = 2,
    }.ToString();

    /// <inheritdoc />
    protected override string DbNowMs => "(extract(epoch from clock_timestamp()) * 1000)::bigint";

    /// <inheritdoc />
    public override string Describe
    {
        get
        {
            var builder = new NpgsqlConnectionStringBuilder(_connection);
            return $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}";
        }
    }

    /// <inheritdoc />
    protected override DbConnection Connect() => new NpgsqlConnection(_connection);
}
