using Npgsql;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// A fresh database on the PostgreSQL server of CLUSTER_PG_URL (scripts/postgres), so each test starts
/// with an empty journal; dropped on dispose.
/// </summary>
public sealed class PostgresScratch : IDisposable
{
    private readonly string _server;
    private readonly string _name = $"t{Guid.NewGuid():N}";

    public PostgresScratch(string url)
    {
        _server = url;
        Execute($"CREATE DATABASE {_name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(url) { Database = _name }.ToString();
    }

    /// <summary>The connection string of the scratch database.</summary>
    public string ConnectionString { get; }

    public void Dispose() => Execute($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");

    private void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(_server);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
