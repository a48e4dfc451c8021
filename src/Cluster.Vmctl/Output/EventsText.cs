using Cluster.Contracts.Replies;

namespace Cluster.Vmctl.Output;

/// <summary>
/// <c>vmctl events</c> as text: the events table, then one block per migration that says why it happened
/// (trigger, summary, the figures the decision used, the limits) and how it ended, so "why did my VM move"
/// is answered on one screen.
/// </summary>
public static class EventsText
{
    public static void Write(Printer printer, VmEventList list)
    {
        var events = list.Events.Select(EventView.Of).ToList();
        printer.Table(["TIME", "EVENT", "REASON", "DETAIL"],
            events.Select(e => (IReadOnlyList<string>)[Printer.Time(e.At), e.Event, e.Reason, e.Migration?.Detail ?? ""]));
        foreach (var start in events.Where(e => e.Migration?.Trigger is not null))
        {
            var m = start.Migration!;
            var rows = new List<IReadOnlyList<string>>
            {
                new[] { "trigger", m.Trigger!.ToLowerInvariant() },
                new[] { "why", m.Summary ?? "" },
            };
            rows.AddRange(m.Inputs!.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => (IReadOnlyList<string>)[$"  {i.Key}", i.Value]));
            rows.Add(["limits", m.Limits!]);
            rows.Add(["outcome", Outcome(events, m.MigrationId)]);
            printer.Line("");
            printer.Line($"migration {m.MigrationId} at {Printer.Time(start.At)}: {m.From} -> {m.To}");
            printer.Aligned([.. rows.Select(r => (IReadOnlyList<string>)[$"  {r[0]}", r[1]])]);
        }
    }

    private static string Outcome(IReadOnlyList<EventView> events, string migrationId)
    {
        var later = events.Where(e => e.Migration?.MigrationId == migrationId).Select(e => e.Migration!).ToList();
        if (later.FirstOrDefault(m => m.Figures is not null) is { } done)
            return $"completed: {done.Figures}";
        var failed = events.LastOrDefault(e => e.Event == "VmMigrationFailed" && e.Migration?.MigrationId == migrationId);
        if (failed is not null)
            return $"{(failed.Migration!.Cancelled == true ? "cancelled" : "failed")}: {failed.Reason}";
        return later.Any(m => m.Epoch is not null) ? "committed, finishing" : "in progress";
    }
}
