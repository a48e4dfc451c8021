namespace Cluster.Vmctl.Client;

/// <summary>
/// The request/reply half of a connection to the cluster's control entry point. The live views and
/// followers depend on this alone, so they run against canned replies in tests.
/// </summary>
public interface IControlClient
{
    /// <summary>Sends <paramref name="message"/> and waits for the one reply.</summary>
    /// <exception cref="NodeUnreachableException">no reply in time.</exception>
    Task<object> AskAsync(object message);
}
