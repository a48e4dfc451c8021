using System.Collections.Concurrent;
using System.Diagnostics;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// Which data directory each node a test started uses (taken from its command line, keyed by the HOST:PORT vmctl
/// reaches it at), so that clients find the node's bootstrap admin token the way a user does: vmctl with
/// <c>--data DIR</c>, or <see cref="TokenSource"/> for an in-process client.
/// </summary>
internal static class NodeTokens
{
    private static readonly ConcurrentDictionary<string, string> DataDirectories = new();

    /// <summary>Notes the node that <paramref name="info"/> starts (a `cluster-node run` command line).</summary>
    public static void Register(ProcessStartInfo info)
    {
        var args = info.ArgumentList;
        string? Value(string name) => args.IndexOf(name) is var i and >= 0 && i + 1 < args.Count ? args[i + 1] : null;
        if (Value("--port") is { } port && Value("--data") is { } data)
            DataDirectories[$"{Value("--host") ?? "127.0.0.1"}:{port}"] = data;
    }

    /// <summary>The data directory of the node at <paramref name="node"/> (HOST:PORT).</summary>
    public static string DataDirectoryOf(string node) =>
        DataDirectories.TryGetValue(node, out var data) ? data : throw new InvalidOperationException($"no test started a node at {node}");

    /// <summary>vmctl's options that point it at <paramref name="node"/>'s data directory, for its token.</summary>
    public static string[] VmctlOptions(string node) => ["--data", DataDirectoryOf(node)];

    /// <summary>The bootstrap admin token of the node at <paramref name="node"/>, as vmctl would find it with --data.</summary>
    public static string AdminToken(string node) =>
        TokenSource.Find(null, null, DataDirectoryOf(node), _ => null, out var error) ?? throw new InvalidOperationException(error);

    /// <summary>A client of <paramref name="node"/> with its admin token.</summary>
    public static Task<NodeClient> ConnectAsync(string node, TimeSpan timeout) => NodeClient.ConnectAsync(node, timeout, AdminToken(node), TestCa.Client);
}
