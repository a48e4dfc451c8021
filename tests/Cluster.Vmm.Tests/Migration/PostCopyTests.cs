using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>Post-copy on the emulated backend: the target runs at once and fetches missing pages through the
/// emulator's page-access path while the source pushes the rest.</summary>
public class PostCopyTests
{
    private const ulong Memory = 32UL << 20;

    /// <summary>A link too slow for the dirtier to converge in pre-copy (the options of the refusal test).</summary>
    private static readonly MigrationOptions SlowLink = new()
    {
        MaxBandwidth = 8L << 20, Xbzrle = false, DowntimeLimit = TimeSpan.FromMilliseconds(5), ThrottleMax = 20,
    };

    [Fact]
    public void A_dirtier_that_outruns_the_link_completes_by_post_copy_and_its_passes_continue_with_no_gap_or_repeat()
    {
        using var h = new MigrationHarness("dirtier", Memory, "2");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("dirtier pass 3\n"), "the guest to dirty");

        var (source, target) = h.Migrate(h.Source, SlowLink with { Mode = MigrationMode.PostCopy });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal(MigrationMode.PostCopy, source.ModeUsed);
        Assert.True(source.PostCopyPages > 0);
        Assert.Equal(source.PostCopyPages, target.PostCopyPages);
        Assert.Equal(MachineRunState.Finished, h.Source.State);
        Assert.Null(h.Target!.Memory.Missing);
        string before = h.SourceConsole.Text;
        int passes = MigrationAssert.LastPass(before, "dirtier");
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text, "dirtier") > passes + 3, "the guest to dirty on the target");
        h.Target.Pause();
        MigrationAssert.PassesWithoutGapOrRepeat(before + h.TargetConsole!.Text, "dirtier");
    }

    [Fact]
    public void Abpages_after_post_copy_has_every_page_consistent()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 20\n"), "the guest to run");

        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = MigrationMode.PostCopy });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text);
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text) > passes + 5, "the guest to run on the target");
        h.Target!.Pause();
        MigrationAssert.AbpagesConsistent(h.Target, 8);
    }

    [Fact]
    public void Post_copy_at_once_fetches_pages_on_demand_and_the_counter_continues_with_no_gap_and_no_repeat()
    {
        using var h = new MigrationHarness("counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 200\n"), "the guest to count");

        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = MigrationMode.PostCopy, PostCopyAfterBulkRound = false, MaxBandwidth = 1L << 20 });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal((long)(Memory >> 12), source.PostCopyPages);
        Assert.True(source.PagesFetchedOnDemand > 0, "no page was fetched on demand");
        Assert.Equal(target.PagesRequested, source.PagesFetchedOnDemand);
        string before = h.SourceConsole.Text;
        MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Split('\n').Length > 100, "the guest to count on the target");
        h.Target!.Pause();
        MigrationAssert.CountsWithoutGapOrRepeat(before + h.TargetConsole!.Text);
    }

    [Fact]
    public void A_source_lost_during_post_copy_leaves_the_target_stopped_with_the_missing_page_count()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 2\n"), "the guest to write its pages");
        var source = MigrationAssert.LosesTheSourceDuringPostCopy(h);

        Assert.Contains("post-copy lost the target", source.FailureReason);
        Assert.Equal(MachineRunState.Finished, h.Source.State);
    }

    [Fact]
    public void Auto_switches_to_post_copy_for_a_dirtier_that_even_throttling_cannot_bring_under_the_limit()
    {
        // 4 MiB rewritten in a loop against 8 MiB/s: rounds of half a second, long enough that the guest dirties
        // its whole working set in each even when a loaded host starves its vCPU for a while.
        using var h = new MigrationHarness("dirtier", Memory, "4");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("dirtier pass 3\n"), "the guest to dirty");

        var (source, target) = h.Migrate(h.Source, SlowLink);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal(MigrationMode.PostCopy, source.ModeUsed);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text, "dirtier");
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text, "dirtier") > passes, "the guest to dirty on the target");
    }

    [Fact]
    public void Auto_stays_with_pre_copy_for_an_idle_guest()
    {
        using var h = new MigrationHarness("counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 50\n"), "the guest to count");

        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = MigrationMode.Auto });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.Equal(MigrationMode.PreCopy, source.ModeUsed);
        Assert.Equal(0, source.PostCopyPages);
        Assert.Equal(0, target.PostCopyPages);
    }
}
