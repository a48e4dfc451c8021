using Cluster.Serialization.Tls;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli;

/// <summary>
/// A prepared command over Akka.Remote (<c>--node HOST:PORT</c>): a short-lived client ActorSystem
/// (<see cref="NodeClient"/>). Reached only where <see cref="RemotingFeature.IsSupported"/>, so that the NativeAOT vmctl
/// compiles none of Akka.
/// </summary>
internal static class RemoteRunner
{
    public static async Task<int> RunAsync(string node, string token, TimeSpan timeout, CommandLine line, string id, object? request,
        Printer printer, TextWriter stderr, LiveOptions options, CancellationToken cancel)
    {
        try
        {
            await using var client = await NodeClient.ConnectAsync(node, timeout, token);
            if (line.Verb == "console" && line.Has("--follow"))
                return await ConsoleFollower.RunAsync(client, id, line.Get("--seconds"), printer, stderr);
            return await VmctlApp.RunAsync(client, line, id, request, node, printer, stderr, options, cancel);
        }
        catch (RemoteTlsException e)
        {
            stderr.WriteLine($"vmctl: {e.Message}");
            return ExitCodes.Unreachable;
        }
    }
}
