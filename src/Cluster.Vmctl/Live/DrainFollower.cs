using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Live;

/// <summary>
/// <c>vmctl drain HOST --wait</c>: follows a drain until the host holds no VM (exit <see cref="ExitCodes.Ok"/>).
/// It ends with <see cref="ExitCodes.Failed"/>, listing the VMs loudly, when every VM left fits nowhere
/// (the rebalancer reports them stuck) and none is moving, or when nothing has moved for
/// <see cref="StallRefreshes"/> refreshes.
/// </summary>
public static class DrainFollower
{
    /// <summary>Refreshes without a migration off the host and without a VM leaving it after which the drain counts as stalled.</summary>
    public const int StallRefreshes = 30;

    public static async Task<int> RunAsync(
        IControlClient client, string host, Printer printer, TextWriter stderr, LiveOptions options, CancellationToken cancel)
    {
        var screen = new Screen(printer.Output, options.Ansi && !printer.Structured, fullScreen: false);
        var unanswered = 0;
        var stalled = 0;
        string? lastLeft = null;
        return await LiveLoop.RunAsync(async () =>
        {
            var hostsTask = LiveLoop.TryAskAsync(client, ListHosts.Instance);
            var migrationsTask = LiveLoop.TryAskAsync(client, ListMigrations.Instance);
            var rebalanceTask = LiveLoop.TryAskAsync(client, GetRebalanceStatus.Instance);
            var (hosts, error) = await hostsTask;
            var migrations = (await migrationsTask).Reply as MigrationList;
            var rebalance = (await rebalanceTask).Reply as RebalanceStatus;
            if (hosts is not HostList list)
            {
                if (++unanswered < LiveLoop.MaxUnanswered)
                    return null;
                screen.End();
                stderr.WriteLine($"vmctl: gave up following the drain of {host}: {error ?? $"unexpected reply {hosts}"}");
                return ExitCodes.Unreachable;
            }
            unanswered = 0;
            if (list.Hosts.FirstOrDefault(h => h.Host == host) is not { } status)
            {
                screen.End();
                stderr.WriteLine($"vmctl: {host} is no longer a cluster member");
                return ExitCodes.Failed;
            }
            var left = status.Vms.Select(v => v.VmId).Order(StringComparer.Ordinal).ToList();
            var moving = migrations?.Migrations.Where(m => m.Source == host && m.InProgress).Select(MigrationView.Of).ToList() ?? [];
            var stuck = rebalance?.Hosts.FirstOrDefault(h => h.Host == host)?.Stuck ?? new Dictionary<string, string>();
            if (!printer.Structured)
                screen.Draw(Frame(host, left, moving, stuck));
            if (left.Count == 0)
            {
                screen.End();
                if (printer.Structured) printer.WriteData(new DrainOutcome(host, true, new Dictionary<string, string>()));
                else printer.Line($"{host}: drained, no VM left");
                return ExitCodes.Ok;
            }
            var leftKey = string.Join(',', left);
            stalled = moving.Count == 0 && leftKey == lastLeft ? stalled + 1 : 0;
            lastLeft = leftKey;
            var allStuck = moving.Count == 0 && left.All(stuck.ContainsKey);
            if (!allStuck && stalled < StallRefreshes)
                return null;
            screen.End();
            var reasons = left.ToDictionary(v => v, v => stuck.TryGetValue(v, out var why) ? why : "did not move and no reason was reported");
            if (printer.Structured)
                printer.WriteData(new DrainOutcome(host, false, reasons));
            stderr.WriteLine($"vmctl: DRAIN INCOMPLETE: {left.Count} VM{(left.Count == 1 ? "" : "s")} cannot leave {host}:");
            foreach (var (vm, why) in reasons)
                stderr.WriteLine($"vmctl:   {vm}: {why}");
            return ExitCodes.Failed;
        }, options with { Once = false }, cancel);
    }

    /// <summary>The drain's frame: what is left, what moves (with progress bars), what fits nowhere.</summary>
    public static string Frame(string host, IReadOnlyList<string> left, IReadOnlyList<MigrationView> moving, IReadOnlyDictionary<string, string> stuck)
    {
        var text = new StringWriter();
        var printer = new Printer(text, json: false);
        printer.Line($"draining {host}: {left.Count} VM{(left.Count == 1 ? "" : "s")} left{(left.Count > 0 ? $" ({string.Join(", ", left)})" : "")}, "
            + $"{moving.Count} moving, {stuck.Count} fit nowhere");
        if (moving.Count > 0)
            printer.Table(MigrationView.Headers, moving.Select(m => m.Row()));
        foreach (var (vm, why) in stuck.OrderBy(s => s.Key, StringComparer.Ordinal))
            printer.Line($"  FITS NOWHERE {vm}: {why}");
        return text.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }
}
