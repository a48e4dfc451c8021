using System.Diagnostics;
using System.Globalization;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Tests.Kvm;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>
/// Live migration between two KVM machines in one process over loopback TCP (skipped where /dev/kvm
/// cannot be opened). KVM's dirty log is a superset of the pages written, so these tests check what
/// the target ends with, never the exact pages sent.
/// </summary>
public class MigrationOnKvmTests
{
    private const ulong Memory = 32UL << 20;

    [KvmFact]
    public void The_counter_console_continues_on_the_kvm_target_with_no_gap_and_no_repeat()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 200\n"), "the guest to count");

        var (source, target) = h.Migrate(h.Source);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal(MachineRunState.Finished, h.Source.State);
        Assert.Equal(MachineRunState.Running, h.Target!.State);
        string before = h.SourceConsole.Text;
        MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Split('\n').Length > 100, "the guest to count on the target");
        h.Target.Pause();
        Assert.Equal(before, h.SourceConsole.Text);
        MigrationAssert.CountsWithoutGapOrRepeat(before + h.TargetConsole!.Text);
        Assert.Contains($"count {MigrationAssert.LastCount(before) + 1}\n", before + h.TargetConsole.Text);
    }

    [KvmFact]
    public void Abpages_migrated_between_kvm_machines_while_it_runs_has_every_page_consistent_and_runs_on_the_target_only()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "abpages", Memory, "4");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 20\n"), "the guest to run");

        // Each pass rewrites the whole working set, so rounds never shrink: stop-and-copy starts once it fits this
        // limit, which a loaded nested lane (dirty-logging faults are exits there) needs larger than the default.
        var (source, target) = h.Migrate(h.Source, new MigrationOptions { DowntimeLimit = TimeSpan.FromSeconds(1) });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal(MachineRunState.Finished, h.Source.State);
        Assert.Equal(MachineRunState.Running, h.Target!.State);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text);
        string before = h.SourceConsole.Text;
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text) > passes + 5, "the guest to run on the target");
        h.Target.Pause();
        Assert.Equal(before, h.SourceConsole.Text);
        MigrationAssert.AbpagesConsistent(h.Target, 4);
    }

    [KvmFact]
    public void At_commit_the_kvm_target_holds_the_paused_source_memory_and_vcpu_state_exactly()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 5\n"), "the guest to run");
        VmMachine? created = null;
        int differingPages = -1;
        (Registers Regs, SpecialRegisters Sregs)? sourceCpu = null, targetCpu = null;
        var options = new MigrationOptions
        {
            DisposeSourceOnSuccess = false,
            Commit = _ =>
            {
                differingPages = DifferingPages(h.Source, created!);
                sourceCpu = (h.Source.Vcpus[0].Vcpu.GetRegisters(), h.Source.Vcpus[0].Vcpu.GetSpecialRegisters());
                targetCpu = (created!.Vcpus[0].Vcpu.GetRegisters(), created.Vcpus[0].Vcpu.GetSpecialRegisters());
                return Task.CompletedTask;
            },
        };

        var (source, _) = h.Migrate(h.Source, options, new MigrationTargetOptions { MachineCreated = m => created = m });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.Equal(0, differingPages);
        Assert.Equal(sourceCpu!.Value.Regs, targetCpu!.Value.Regs);
        Assert.Equal(sourceCpu.Value.Sregs.Cr3, targetCpu.Value.Sregs.Cr3);
        Assert.Equal(sourceCpu.Value.Sregs.Efer, targetCpu.Value.Sregs.Efer);
        Assert.Equal(sourceCpu.Value.Sregs.Cs, targetCpu.Value.Sregs.Cs);
    }

    [KvmFact]
    public void A_failing_commit_after_the_kvm_snapshot_leaves_the_counter_running_on_the_source_with_no_gap_and_no_repeat()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 100\n"), "the guest to count");
        var options = new MigrationOptions { Commit = _ => throw new VmmException("journal unavailable") };

        var (source, target) = h.Migrate(h.Source, options);

        Assert.False(source.Succeeded);
        Assert.Equal("journal unavailable", source.FailureReason);
        Assert.False(target.Succeeded);
        long last = MigrationAssert.LastCount(h.SourceConsole.Text);
        MigrationAssert.RunsOnSourceOnly(h, "count");
        MigrationHarness.WaitUntil(() => MigrationAssert.LastCount(h.SourceConsole.Text) > last + 50, "the source to keep counting");
        h.Source.Pause();
        MigrationAssert.CountsWithoutGapOrRepeat(h.SourceConsole.Text);
    }

    [KvmFact]
    public void A_kvm_target_that_refuses_the_memory_size_leaves_the_vm_running_on_the_source()
    {
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "counter", Memory);
        var (source, target) = h.Migrate(h.Source, reserved: h.Source.Config with { MemoryBytes = Memory * 2 });

        Assert.False(source.Succeeded);
        Assert.Contains("memory size mismatch", source.FailureReason);
        Assert.False(target.Succeeded);
        Assert.Null(target.Machine);
        MigrationAssert.RunsOnSourceOnly(h, "count");
    }

    [KvmTheory]
    [InlineData(BackendKind.Emulated, BackendKind.Kvm)]
    [InlineData(BackendKind.Kvm, BackendKind.Emulated)]
    public void A_target_on_another_backend_refuses_and_the_vm_keeps_running_on_the_source(BackendKind from, BackendKind to)
    {
        using var h = new MigrationHarness(from, to, "counter", Memory);
        var (source, target) = h.Migrate(h.Source);

        Assert.False(source.Succeeded);
        Assert.Contains($"backend mismatch: the VM runs on {from}, this host offers {to}", source.FailureReason);
        Assert.False(target.Succeeded);
        Assert.Null(target.Machine);
        MigrationAssert.RunsOnSourceOnly(h, "count");
    }

    [KvmFact]
    public void The_timer_guest_takes_its_next_interrupts_from_the_kvm_target_in_kernel_pit_and_pic_with_no_gap()
    {
        // The guest never ends by itself and prints "ticks K" every 100 interrupts: how fast interrupts arrive differs
        // a hundredfold between hardware, PVM and the nested lane, so the test follows the progress lines rather than
        // a count that must outlast the migration and still end within the wait.
        using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, "timer", 8UL << 20, "1000000000", "100");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("ticks 100\n"), "the guest to take 100 interrupts");

        var (source, target) = h.Migrate(h.Source);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        string before = h.SourceConsole.Text;
        long lastOnSource = LastTicks(before);
        MigrationHarness.WaitUntil(() => LastTicks(h.TargetConsole!.Text) >= lastOnSource + 200, "the target's in-kernel PIT to deliver 200 more interrupts");
        h.Target!.Pause();
        Assert.Equal(before, h.SourceConsole.Text);
        string all = before + h.TargetConsole!.Text;
        var lines = all[..(all.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries); // a line cut by the pause is left out
        Assert.Equal(Enumerable.Range(1, lines.Length).Select(i => $"ticks {i * 100}"), lines);
    }

    [KvmFact]
    public void The_smp_guest_migrated_mid_run_between_kvm_machines_ends_on_the_target_with_the_exact_total()
    {
        const int vcpus = 2;
        long iterations = SmpIterationsLasting(TimeSpan.FromSeconds(8), vcpus);
        // The estimate can still fall short on a host whose speed changes between the probe and the run (the nested
        // lane under load): a guest that finished before the migration paused it says nothing about migration, so the
        // test runs it again with four times as many iterations (at most twice) rather than pass or fail on it.
        for (int attempt = 1; ; attempt++)
        {
            var config = new MachineConfig
            {
                Vcpus = vcpus, MemoryBytes = 8UL << 20, Image = new BuiltInGuestImage("smp"), Args = [iterations.ToString(CultureInfo.InvariantCulture)],
            };
            using var h = new MigrationHarness(BackendKind.Kvm, BackendKind.Kvm, config);

            var (source, _) = h.Migrate(h.Source);

            if (!source.Succeeded && h.Source.Exit is not null && attempt < 3)
            {
                iterations *= 4;
                continue;
            }
            Assert.True(source.Succeeded, $"{source.FailureReason} (attempt {attempt}, {iterations} iterations, source console: '{h.SourceConsole.Text}')");
            Assert.True(h.Target!.WaitForExit(MigrationHarness.Timeout), "the smp guest did not finish on the target");
            Assert.Equal((MachineExitKind.GuestExit, (int?)0), (h.Target.Exit!.Kind, h.Target.Exit.ExitStatus));
            Assert.Equal("", h.SourceConsole.Text);
            Assert.Equal($"smp: cpus={vcpus} iterations={iterations} total={vcpus * iterations}\n", h.TargetConsole!.Text);
            return;
        }
    }

    /// <summary>Iterations of the smp guest that take about <paramref name="wanted"/> on this host's KVM (whose speed
    /// differs a hundredfold between PVM, the nested lane and hardware). The probe doubles until one run takes at least
    /// half a second; the cost of one iteration is then the slope between that run and one of twice as many, so that the
    /// fixed cost of a run (creating the VM and its vCPUs, which the nested lane makes slow) does not count as iterations:
    /// the average alone once made a guest that ended before the migration paused it. The slope is taken as at least a
    /// quarter of the average (scheduling noise can shrink the difference), and the estimate errs towards more iterations.</summary>
    private static long SmpIterationsLasting(TimeSpan wanted, int vcpus)
    {
        long probe = 20_000;
        var elapsed = TimeSmp(probe, vcpus);
        while (elapsed < TimeSpan.FromMilliseconds(500) && probe < 1L << 40)
        {
            probe *= 2;
            elapsed = TimeSmp(probe, vcpus);
        }
        var twice = TimeSmp(2 * probe, vcpus);
        var average = twice.TotalSeconds / (2 * probe);
        var perIteration = Math.Max((twice - elapsed).TotalSeconds / probe, average / 4);
        return Math.Max(2 * probe, (long)(wanted.TotalSeconds / perIteration));
    }

    /// <summary>The K of the last complete "ticks K" line (0 when none).</summary>
    private static long LastTicks(string console)
    {
        var lines = console.Split('\n');
        for (int i = lines.Length - 2; i >= 0; i--)
            if (lines[i].StartsWith("ticks ", StringComparison.Ordinal))
                return long.Parse(lines[i].AsSpan(6), CultureInfo.InvariantCulture);
        return 0;
    }

    private static TimeSpan TimeSmp(long iterations, int vcpus)
    {
        using var session = new GuestRunner.Session("smp", [iterations.ToString(CultureInfo.InvariantCulture)], vcpus, 8UL << 20, BackendKind.Kvm);
        var clock = Stopwatch.StartNew();
        Assert.Equal(MachineExitKind.GuestExit, session.RunToExit().Kind);
        return clock.Elapsed;
    }

    /// <summary>The pages whose contents differ between two paused machines of the same memory size.</summary>
    private static int DifferingPages(VmMachine a, VmMachine b)
    {
        var pa = new byte[GuestAddress.PageSize];
        var pb = new byte[GuestAddress.PageSize];
        int differing = 0;
        for (ulong gpa = 0; gpa < a.Config.MemoryBytes; gpa += GuestAddress.PageSize)
        {
            a.Memory.Read(gpa, pa);
            b.Memory.Read(gpa, pb);
            if (!pa.AsSpan().SequenceEqual(pb)) differing++;
        }
        return differing;
    }
}
