namespace Cluster.Actors.Tests.Leases;

/// <summary>A fact that needs PostgreSQL (<c>CLUSTER_PG_URL</c>, an Npgsql connection string); skipped with the reason without it.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (ConnectionString is null)
            Skip = "needs PostgreSQL: set CLUSTER_PG_URL to an Npgsql connection string (scripts/test starts one)";
    }

    /// <summary>CLUSTER_PG_URL, or null.</summary>
    public static string? ConnectionString => Environment.GetEnvironmentVariable("CLUSTER_PG_URL") is { Length: > 0 } pg ? pg : null;
}
