using Akka.Actor;
using Akka.Configuration;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Node.Hosting;

/// <summary>
/// A cluster node that is asked to stop (SIGTERM, SIGINT: a service manager, an upgrade) first drains itself: its VMs
/// live-migrate to the other hosts, so that a rolling upgrade restarts no guest (without it the others would boot them
/// cold from the journal). The node remembers that it drained itself (<see cref="MarkerFile"/> in its data directory) and
/// undrains itself when it starts again, so the rebalancer may bring VMs back. The drain ends when the host holds no VM,
/// when nothing moved for <see cref="StallAfter"/> (the VMs left fit nowhere else, or this is the last host), at the
/// timeout (<c>cluster-hypervisor.shutdown.drain-timeout</c>, 120 s), or at a second signal; then the node stops as before.
/// <c>cluster-hypervisor.shutdown.drain = off</c> stops at once.
/// </summary>
public static class ShutdownDrain
{
    /// <summary>The file in the data directory that says this node drained itself to stop.</summary>
    public const string MarkerFile = "drained-for-shutdown";

    /// <summary>How long a drain may go without any VM leaving before the node stops anyway.</summary>
    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Whether the node drains before it stops, and for how long at most.</summary>
    public static (bool Enabled, TimeSpan Timeout) Settings(Config config) => (
        config.GetBoolean("cluster-hypervisor.shutdown.drain", true),
        config.GetTimeSpan("cluster-hypervisor.shutdown.drain-timeout", TimeSpan.FromSeconds(120)));

    /// <summary>
    /// Drains <paramref name="self"/> through <paramref name="control"/> and waits until it holds no VM (or stalls, times out,
    /// or <paramref name="abort"/> is set), saying on <paramref name="log"/> what it does. True when the host was left empty.
    /// </summary>
    public static bool Run(IActorRef control, string self, string dataDirectory, TimeSpan timeout, TextWriter log, WaitHandle abort)
    {
        var deadline = DateTime.UtcNow + timeout;
        // A host the operator drained stays drained after the restart: only a drain made here is undone at the next start.
        var drainedBefore = TryAsk(control, GetRebalanceStatus.Instance) is RebalanceStatus status && status.Hosts.Any(h => h.Host == self && h.Draining);
        object? reply = TryAsk(control, new DrainHost(self));
        if (reply is not DrainStarted started)
        {
            log.WriteLine($"node stopping: cannot drain {self} first ({Describe(reply)}); its VMs stop here");
            return false;
        }
        if (!drainedBefore)
            Mark(dataDirectory);
        if (started.Vms.Count == 0)
            return true;
        log.WriteLine($"node stopping: draining {started.Vms.Count} VM(s) to the other hosts first (at most {timeout.TotalSeconds:0} s; signal again to stop at once)");
        log.Flush();
        var left = started.Vms.Count;
        var lastChange = DateTime.UtcNow;
        while (true)
        {
            if (abort.WaitOne(TimeSpan.FromMilliseconds(500)))
            {
                log.WriteLine($"node stopping: drain cut short with {left} VM(s) still here");
                return false;
            }
            if (TryAsk(control, ListHosts.Instance) is HostList list && list.Hosts.FirstOrDefault(h => h.Host == self) is { } here)
            {
                if (here.Vms.Count != left)
                {
                    left = here.Vms.Count;
                    lastChange = DateTime.UtcNow;
                    log.WriteLine($"node stopping: {left} VM(s) left to move");
                    log.Flush();
                }
                if (left == 0)
                {
                    log.WriteLine("node stopping: drained, no VM left here");
                    return true;
                }
            }
            if (DateTime.UtcNow > deadline || DateTime.UtcNow - lastChange > StallAfter)
            {
                log.WriteLine($"node stopping: {left} VM(s) could not move in time; they stop here and the cluster restarts them elsewhere");
                return false;
            }
        }
    }

    /// <summary>
    /// At start: when this node drained itself to stop last time, undrains it (retried in the background until the rebalancer
    /// answers, at most <paramref name="within"/>), then forgets that it did.
    /// </summary>
    public static Task UndrainIfMarkedAsync(IActorRef control, string self, string dataDirectory, TextWriter log, TimeSpan within)
    {
        var marker = Path.Combine(dataDirectory, MarkerFile);
        if (!File.Exists(marker))
            return Task.CompletedTask;
        return Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow + within;
            while (DateTime.UtcNow < deadline)
            {
                if (TryAsk(control, new UndrainHost(self)) is HostUndrained)
                {
                    File.Delete(marker);
                    log.WriteLine($"{self} drained itself to stop last time: it takes VMs again");
                    log.Flush();
                    return;
                }
                await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
            log.WriteLine($"{self} drained itself to stop last time and could not undrain itself within {within.TotalSeconds:0} s: " +
                          $"'vmctl undrain {self}' makes it take VMs again");
            log.Flush();
        });
    }

    private static void Mark(string dataDirectory) => File.WriteAllText(Path.Combine(dataDirectory, MarkerFile), DateTime.UtcNow.ToString("O") + "\n");

    private static object? TryAsk(IActorRef control, object message)
    {
        try { return control.Ask(message, AskTimeout).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException) { return null; }
    }

    private static string Describe(object? reply) => reply switch
    {
        null => "no answer from the rebalancer",
        HostNotFound n => $"the cluster does not know {n.Host}",
        _ => reply.ToString() ?? "?",
    };
}
