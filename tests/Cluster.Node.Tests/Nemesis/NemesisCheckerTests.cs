using System.Text;
using Cluster.Contracts.Events;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>The nemesis's counter check and console parsing on made-up histories (no cluster).</summary>
public sealed class NemesisCheckerTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 8, 0, 0, DateTimeKind.Utc);

    private static CounterSample At(double seconds, ulong count) => new("v0", T0.AddSeconds(seconds), 0, count);

    [Fact]
    public void A_counter_that_goes_back_with_no_boot_between_is_a_violation()
    {
        var found = NemesisHistory.CounterRegressions("v0", [At(0, 100), At(10, 900), At(20, 50)], []);
        Assert.Single(found);
        Assert.Contains("from 900", found[0]);
    }

    [Fact]
    public void A_counter_that_starts_again_after_a_journalled_boot_is_not()
    {
        var events = new List<VmEvent> { new VmStarted("v0", T0.AddSeconds(15), "started") };
        Assert.Empty(NemesisHistory.CounterRegressions("v0", [At(0, 100), At(10, 900), At(20, 50)], events));
        // A boot long before the two readings does not explain it.
        var early = new List<VmEvent> { new VmOwnerClaimed("v0", T0.AddSeconds(1), "claimed", 2, "h") };
        Assert.Single(NemesisHistory.CounterRegressions("v0", [At(0, 100), At(10, 900), At(20, 50)], early));
    }

    [Fact]
    public void The_last_complete_count_line_is_read_from_a_console_tail()
    {
        Assert.Equal(1235UL, NemesisCounters.LastCount(Encoding.ASCII.GetBytes("nt 1233\ncount 1234\ncount 1235\ncount 12")));
        Assert.Null(NemesisCounters.LastCount(Encoding.ASCII.GetBytes("count 7")));
    }

    [Fact]
    public void A_reading_that_shows_the_ab_pages_inconsistent_is_a_violation_and_none_is_not()
    {
        // The abcount guest's console: counting, then (a page lost by a migration) its ab-bad line repeated.
        var fine = Encoding.ASCII.GetBytes("count 41\ncount 42\ncount 43\ncou");
        var bad = Encoding.ASCII.GetBytes("count 42\ncount 43\nab-bad count=43 slot=2 saw=40\nab-bad count=43 slot=2 saw=40\nab-b");
        Assert.Null(NemesisCounters.LastAbBad(fine));
        Assert.Equal("ab-bad count=43 slot=2 saw=40", NemesisCounters.LastAbBad(bad));
        Assert.Equal(43UL, NemesisCounters.LastCount(bad));
        // A line cut by the tail's start or end is not read as one.
        Assert.Null(NemesisCounters.LastAbBad(Encoding.ASCII.GetBytes("bad count=43 slot=2 saw=40\nab-bad count=4")));

        var readings = new List<AbBadSample>
        {
            new("v1", T0.AddSeconds(12), 2, "ab-bad count=43 slot=2 saw=40"),
            new("v1", T0.AddSeconds(10), 1, "ab-bad count=43 slot=1 saw=41"),
        };
        var found = NemesisHistory.InconsistentPages("v1", readings);
        Assert.Single(found);
        Assert.Contains("slot=1 saw=41", found[0]);
        Assert.Contains("2 such reading", found[0]);
        Assert.Empty(NemesisHistory.InconsistentPages("v0", readings));
    }

    [Fact]
    public void A_schedule_replays_from_its_seed_and_the_ci_kinds_come_in_order()
    {
        var kinds = new[] { FaultKind.CrashDuringMigration, FaultKind.AsymmetricPartition, FaultKind.PacketLoss, FaultKind.JournalOutage };
        var a = NemesisSchedule.Generate(42, 4, kinds: kinds, inOrder: true, journalOutage: TimeSpan.FromSeconds(8));
        Assert.Equal(a.ToString(), NemesisSchedule.Generate(42, 4, kinds: kinds, inOrder: true, journalOutage: TimeSpan.FromSeconds(8)).ToString());
        Assert.NotEqual(a.ToString(), NemesisSchedule.Generate(43, 4, kinds: kinds, inOrder: true).ToString());
        Assert.Equal(TimeSpan.FromSeconds(8), a.Steps[3].Fault.Hold);
        Assert.Equal(kinds, a.Steps.Select(s => s.Fault.Kind));
        Assert.All(a.Steps.Where(s => s.Fault.Kind == FaultKind.PacketLoss), s => Assert.InRange(s.Fault.Detail, 10, 40));
        Assert.All(a.Steps.Where(s => s.Fault.Kind == FaultKind.AsymmetricPartition), s => Assert.NotEqual(s.Fault.Node, s.Fault.Peer));
    }
}
