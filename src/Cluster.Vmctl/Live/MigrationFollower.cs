using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Live;

/// <summary>
/// <c>vmctl migrate --wait</c>: follows one migration with a progress line until it ends. Exits
/// <see cref="ExitCodes.Ok"/> when it completed and <see cref="ExitCodes.Failed"/> when it failed or was
/// cancelled. A migration that has dropped out of the cluster's list is judged by the VM's events (its completion or failure,
/// else its commit).
/// </summary>
public static class MigrationFollower
{
    public static async Task<int> RunAsync(
        IControlClient client, MigrationAccepted accepted, Printer printer, TextWriter stderr, LiveOptions options, CancellationToken cancel)
    {
        var screen = new Screen(printer.Output, options.Ansi && !printer.Structured, fullScreen: false);
        var unanswered = 0;
        var code = await LiveLoop.RunAsync(async () =>
        {
            var (reply, error) = await LiveLoop.TryAskAsync(client, ListMigrations.Instance);
            if (reply is not MigrationList list)
            {
                if (++unanswered >= LiveLoop.MaxUnanswered)
                {
                    screen.End();
                    stderr.WriteLine($"vmctl: gave up following {accepted.MigrationId}: {error ?? $"unexpected reply {reply}"}");
                    return ExitCodes.Unreachable;
                }
                return null;
            }
            unanswered = 0;
            var info = list.Migrations.FirstOrDefault(m => m.MigrationId == accepted.MigrationId);
            if (info is null)
                return await FromEvents(client, accepted, printer, stderr, screen);
            var view = MigrationView.Of(info);
            if (!printer.Structured)
                screen.Draw(ProgressLine(view));
            if (info.InProgress)
                return null;
            screen.End();
            return Finish(view, printer, stderr);
        }, options with { Once = false }, cancel);
        if (cancel.IsCancellationRequested)
        {
            screen.End();
            stderr.WriteLine($"vmctl: stopped following; {accepted.MigrationId} goes on (vmctl migrations --watch)");
        }
        return code;
    }

    /// <summary>The live line: VM, route, state, round, bar, remaining, rate, dirty rate, ETA, throttle.</summary>
    public static string ProgressLine(MigrationView v) => v.InProgress
        ? $"{v.VmId} {v.Source} -> {v.Target}  {v.State} round {v.Round}  {v.ProgressBar}  remaining {Human.Bytes(v.RemainingBytes)}"
          + $"  rate {Human.Rate(v.TransferBytesPerSecond)}  dirty {Human.Rate(v.DirtyBytesPerSecond)}  eta {Human.Duration(v.EtaMs)}"
          + $"  throttle {v.ThrottlePercent}%"
        : $"{v.VmId} {v.Source} -> {v.Target}  {v.State}  {v.ProgressBar}  {v.Result}";

    private static int Finish(MigrationView view, Printer printer, TextWriter stderr)
    {
        if (printer.Structured)
            printer.WriteData(view);
        if (view.State == nameof(MigrationState.Completed))
        {
            if (!printer.Structured)
                printer.Line($"{view.VmId}: now on {view.Target}; {view.Result}");
            return ExitCodes.Ok;
        }
        stderr.WriteLine($"vmctl: migration of {view.VmId} to {view.Target} {view.Result}; it still runs on {view.Source}");
        return ExitCodes.Failed;
    }

    private static async Task<int?> FromEvents(IControlClient client, MigrationAccepted accepted, Printer printer, TextWriter stderr, Screen screen)
    {
        var (reply, _) = await LiveLoop.TryAskAsync(client, new GetVmEvents(accepted.VmId));
        if (reply is not VmEventList events)
            return null;
        VmMigrated? committed = null;
        foreach (var e in events.Events)
        {
            switch (e)
            {
                case VmMigrated m when m.MigrationId == accepted.MigrationId:
                    committed = m;
                    break;
                case VmMigrationCompleted c when c.MigrationId == accepted.MigrationId:
                    screen.End();
                    if (printer.Structured) printer.WriteData(EventView.Of(c));
                    else printer.Line($"{accepted.VmId}: now on {accepted.TargetHost}; {MigrationEventView.Of(c)!.Figures}");
                    return ExitCodes.Ok;
                case VmMigrationFailed f when f.MigrationId == accepted.MigrationId:
                    screen.End();
                    if (printer.Structured) printer.WriteData(EventView.Of(f));
                    stderr.WriteLine($"vmctl: migration of {accepted.VmId} to {accepted.TargetHost} {(f.Cancelled ? "cancelled" : "failed")}: "
                        + $"{f.Reason}; it still runs on {accepted.SourceHost}");
                    return ExitCodes.Failed;
            }
        }
        // The commit is recorded but not the completion (the source host failed right after the commit, and no host lists
        // the migration any more): the VM belongs to the target; waiting on would last for ever.
        if (committed is not null)
        {
            screen.End();
            if (printer.Structured) printer.WriteData(EventView.Of(committed));
            else printer.Line($"{accepted.VmId}: now on {committed.To} (the commit is recorded, epoch {committed.Epoch}; its completion is not: " +
                              "the source host failed after it)");
            return ExitCodes.Ok;
        }
        return null;
    }
}
