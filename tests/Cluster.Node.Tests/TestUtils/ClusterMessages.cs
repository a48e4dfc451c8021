using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// Sends one contract message to a test cluster through a ClusterClient (as vmctl does) and returns the reply:
/// for the messages vmctl has no verb for in this branch (live migration).
/// </summary>
internal static class ClusterMessages
{
    /// <summary>Asks the cluster through node <paramref name="node"/> ("host:port").</summary>
    public static async Task<object> AskAsync(string node, object message)
    {
        await using var client = await NodeTokens.ConnectAsync(node, TimeSpan.FromSeconds(20));
        return await client.AskAsync(message);
    }

    /// <summary>Asks and checks the reply's type.</summary>
    public static async Task<T> AskAsync<T>(string node, object message)
    {
        var reply = await AskAsync(node, message);
        return reply is T t ? t : throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {reply}");
    }
}
