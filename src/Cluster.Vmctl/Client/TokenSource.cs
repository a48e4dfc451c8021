using Cluster.Contracts.Access;

namespace Cluster.Vmctl.Client;

/// <summary>
/// Where vmctl finds its bearer token, first match wins: <c>--token TOKEN</c>; the environment variable
/// <see cref="EnvironmentVariable"/>, then <c>$VMCTL_TOKEN</c>; <c>--token-file FILE</c>; the context's token, then its token
/// file (<see cref="Config.VmctlConfig"/>); <c>--data DIR</c>, a local node's data directory, whose
/// <c>admin.token</c> the node wrote on its first start; <c>./data/admin.token</c> (the data directory
/// <c>cluster-node run</c> uses by default).
/// </summary>
public static class TokenSource
{
    /// <summary>The environment variable that holds a token.</summary>
    public const string EnvironmentVariable = "CLUSTER_TOKEN";

    /// <summary>The other environment variable that holds a token (the one named like vmctl's others).</summary>
    public const string VmctlEnvironmentVariable = "VMCTL_TOKEN";

    /// <summary>The token, or null with <paramref name="error"/> saying where vmctl looked or what was wrong.</summary>
    public static string? Find(string? token, string? tokenFile, string? dataDirectory, Func<string, string?> environment, out string? error,
        string? contextToken = null, string? contextTokenFile = null)
    {
        error = null;
        if (token is not null)
            return Checked(token, "--token", out error);
        if (environment(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
            return Checked(fromEnvironment, $"${EnvironmentVariable}", out error);
        if (environment(VmctlEnvironmentVariable) is { Length: > 0 } fromVmctlEnvironment)
            return Checked(fromVmctlEnvironment, $"${VmctlEnvironmentVariable}", out error);
        if (tokenFile is null && contextToken is not null)
            return Checked(contextToken, "the context", out error);
        tokenFile ??= contextTokenFile;
        var file = tokenFile ?? Path.Combine(dataDirectory ?? "data", TokenText.AdminTokenFile);
        if (!File.Exists(file))
        {
            error = tokenFile is not null || dataDirectory is not null
                ? $"no token file {file}"
                : $"no token: give --token TOKEN, set ${EnvironmentVariable}, or point --data at the node's data directory (no {file} here)";
            return null;
        }
        try
        {
            return Checked(File.ReadAllText(file).Trim(), file, out error);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read {file}: {e.Message}";
            return null;
        }
    }

    private static string? Checked(string token, string from, out string? error)
    {
        error = TokenText.IdOf(token) is null ? $"the token from {from} is malformed (tokens look like cht_ID_SECRET)" : null;
        return error is null ? token : null;
    }
}
