using Akka.Actor;
using Cluster.Contracts.Hosts;

namespace Cluster.Actors.Clustering;

/// <summary>Asks hosts what they see at disk paths (for a VM whose paths no host reports on yet).</summary>
public interface IDiskProbe
{
    /// <summary>
    /// The answers of those of <paramref name="hosts"/> that answer within <paramref name="timeout"/> (a host that does
    /// not answer is left out: placement then knows nothing of the paths there and does not choose it).
    /// </summary>
    Task<IReadOnlyList<DisksSeen>> Look(IReadOnlyCollection<string> hosts, IReadOnlyList<string> paths, TimeSpan timeout);
}

/// <summary>Asks each host's <see cref="HostAgent"/> with a <see cref="CheckDisks"/>: a stat and a small read there.</summary>
public sealed class HostAgentDiskProbe(ActorSystem system) : IDiskProbe
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<DisksSeen>> Look(IReadOnlyCollection<string> hosts, IReadOnlyList<string> paths, TimeSpan timeout)
    {
        var answers = await Task.WhenAll(hosts.Select(async host =>
        {
            try
            {
                return await system.ActorSelection(HostPaths.Of(system, host, HostAgent.Path))
                    .Ask<DisksSeen>(new CheckDisks(paths), timeout);
            }
            catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException)
            {
                return null;
            }
        }));
        return [.. answers.OfType<DisksSeen>()];
    }
}
