using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Tests.Kvm;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>Post-copy between two KVM machines: the target's vCPUs fault on missing pages inside KVM and
/// userfaultfd brings them (skipped where /dev/kvm cannot be opened).</summary>
public class PostCopyOnKvmTests
{
    private const ulong Memory = 32UL << 20;

    [KvmFact]
    public void Post_copy_at_once_to_kvm_fetches_pages_on_demand_and_the_counter_continues_with_no_gap_and_no_repeat()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 200\n"), "the guest to count");

        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = MigrationMode.PostCopy, PostCopyAfterBulkRound = false, MaxBandwidth = 1L << 20 });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal((long)(Memory >> 12), source.PostCopyPages);
        Assert.True(source.PagesFetchedOnDemand > 0, "no page was fetched on demand");
        string before = h.SourceConsole.Text;
        MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Split('\n').Length > 100, "the guest to count on the kvm target");
        h.Target!.Pause();
        MigrationAssert.CountsWithoutGapOrRepeat(before + h.TargetConsole!.Text);
    }

    [KvmFact]
    public void Abpages_after_post_copy_between_kvm_machines_has_every_page_consistent()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "abpages", Memory, "4");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 20\n"), "the guest to run");

        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = MigrationMode.PostCopy });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.True(source.PostCopyPages > 0);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text);
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text) > passes + 5, "the guest to run on the kvm target");
        h.Target!.Pause();
        MigrationAssert.AbpagesConsistent(h.Target, 4);
    }

    [KvmFact]
    public void A_source_lost_during_post_copy_leaves_the_kvm_target_stopped_with_the_missing_page_count()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 2\n"), "the guest to write its pages");
        MigrationAssert.LosesTheSourceDuringPostCopy(h);
    }
}
