namespace Cluster.Node.Tests.TestUtils;

/// <summary>The end of a test that started node processes: stops them, keeps their output where
/// CLUSTER_TEST_LOGS=DIR asks for it (as PREFIX-nodeN.log), drops the scratch database and the data folder.</summary>
internal static class NodeTeardown
{
    public static void Run(IReadOnlyList<NodeProcess?> nodes, string prefix, PostgresScratch? postgres, string data)
    {
        foreach (var node in nodes)
            node?.Dispose();
        WorkerRecords.KillAll(data);
        if (Environment.GetEnvironmentVariable("CLUSTER_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            for (var i = 0; i < nodes.Count; i++)
                if (nodes[i] is { } node)
                    File.WriteAllText(Path.Combine(logs, $"{prefix}node{i}.log"), node.Output);
        }
        postgres?.Dispose();
        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
