using System.Globalization;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Vmctl.Output;

/// <summary><c>vmctl rebalance</c> as text: mode and imbalance, a load bar per host, the plan and the moves in flight.</summary>
public static class RebalanceText
{
    /// <summary>The one-line summary: mode, imbalance against threshold (and since when above), moves made, and the fewest moves
    /// that would balance the hosts (when the node reports it).</summary>
    public static string Summary(RebalanceStatus s, DateTime now)
    {
        var above = s.AboveSince is { } since
            ? $", above since {Printer.Time(since)} ({Human.Duration((now - since).TotalMilliseconds)})"
            : s.Imbalance > s.Threshold ? ", above" : ", below";
        return $"rebalancer: {s.Mode.ToString().ToLowerInvariant()}, imbalance {F(s.Imbalance)} (threshold {F(s.Threshold)}{above}), "
            + $"{s.InFlight.Count} of its moves in flight, {s.MovesMade} made"
            + (s.FewestMoves > 0 ? $"; balance needs at least {s.FewestMoves} move(s)" : "");
    }

    public static void Write(Printer printer, RebalanceStatus s, DateTime now)
    {
        printer.Line(Summary(s, now));
        printer.Line("");
        printer.Table(["HOST", "LOAD", "DRAINING", "STUCK"],
            s.Hosts.Select(h => (IReadOnlyList<string>)
                [h.Host, $"{Human.Bar(h.Load)} {Human.Percent(h.Load),4}", h.Draining ? "yes" : "no",
                 string.Join("; ", h.Stuck.Select(kv => $"{kv.Key}: {kv.Value}"))]));
        Moves(printer, s.Mode == RebalanceMode.Automatic ? "plan (being carried out)" : "plan (recommended, nothing moves in this mode)", s.Plan);
        Moves(printer, "in flight", s.InFlight);
    }

    private static void Moves(Printer printer, string title, IReadOnlyList<PlannedMove> moves)
    {
        printer.Line("");
        if (moves.Count == 0)
        {
            printer.Line($"{title}: none");
            return;
        }
        printer.Line($"{title}:");
        printer.Table(["VM", "FROM -> TO", "GAIN", "COST", "WHY"],
            moves.Select(m => (IReadOnlyList<string>)[m.VmId, $"{m.From} -> {m.To}", F(m.Gain), F(m.Cost), m.Summary]));
    }

    private static string F(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);
}
