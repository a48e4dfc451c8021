using System.Text.RegularExpressions;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>What the migration tests check of the guests and machines, on either backend.</summary>
internal static class MigrationAssert
{
    /// <summary>The source still runs (not throttled, not logging dirty pages) and its console keeps growing with <paramref name="marker"/>.</summary>
    public static void RunsOnSourceOnly(MigrationHarness h, string marker = "")
    {
        Assert.Equal(MachineRunState.Running, h.Source.State);
        Assert.All(h.Source.Vcpus, v => Assert.Equal(0, v.ThrottlePercent));
        Assert.False(h.Source.Memory.GetSlot(0).LogDirty);
        int length = h.SourceConsole.Text.Length;
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Length > length && h.SourceConsole.Text[length..].Contains(marker), "the source to keep running");
    }

    /// <summary>The counter guest's console, across the machines it ran on, counts 1, 2, 3... with no gap and no repeat.</summary>
    public static void CountsWithoutGapOrRepeat(string console)
    {
        var counts = Regex.Matches(console, @"count (\d+)\n").Select(m => long.Parse(m.Groups[1].Value)).ToList();
        Assert.NotEmpty(counts);
        Assert.Equal(Enumerable.Range(1, counts.Count).Select(i => (long)i), counts);
    }

    /// <summary>The "GUEST pass N" lines, across the machines the guest ran on, go 1, 2, 3... with no gap and no repeat.</summary>
    public static void PassesWithoutGapOrRepeat(string console, string guest)
    {
        var passes = Regex.Matches(console, guest + @" pass (\d+)\n").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.NotEmpty(passes);
        Assert.Equal(Enumerable.Range(1, passes.Count), passes);
    }

    /// <summary>The highest "GUEST pass N" printed.</summary>
    public static int LastPass(string console, string guest = "abpages") =>
        Regex.Matches(console, guest + @" pass (\d+)\n").Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    /// <summary>The highest "count N" printed.</summary>
    public static long LastCount(string console) =>
        Regex.Matches(console, @"count (\d+)\n").Select(m => long.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    /// <summary>QEMU's migration-test rule: byte 0 of every page equal, except at most one boundary
    /// (the pass the guest was in) between pages already incremented and pages not yet: as the guest
    /// walks up, the next page's byte plus one equals the previous page's.</summary>
    public static void AbpagesConsistent(VmMachine m, int mib)
    {
        ulong region = AbpagesRegion(m.Config.MemoryBytes);
        int boundaries = 0;
        byte previous = m.Memory.ReadU8(region);
        Assert.NotEqual(0, previous);
        for (ulong p = 1; p < (ulong)mib << 8; p++)
        {
            byte b = m.Memory.ReadU8(region + (p << 12));
            if (b == previous) continue;
            Assert.Equal(previous, (byte)(b + 1));
            boundaries++;
            previous = b;
        }
        Assert.True(boundaries <= 1, $"{boundaries} boundaries");
    }

    /// <summary>The guest-physical address of the first page abpages increments: the page after its image.</summary>
    public static ulong AbpagesRegion(ulong memoryBytes)
    {
        using var scratch = new TestMemory(memoryBytes);
        var image = ElfLoader.LoadFile(BuiltInGuests.Find("abpages"), scratch.Memory, scratch.Size);
        return (image.End + 4095) & ~4095UL;
    }

    /// <summary>
    /// Migrates <paramref name="h"/>'s source by post-copy at once and cuts the link as soon as post-copy begins;
    /// asserts that ownership had moved, that the target stopped with the missing-page count as an internal
    /// error, and returns the source's result for backend-specific checks.
    /// </summary>
    public static MigrationResult LosesTheSourceDuringPostCopy(MigrationHarness h)
    {
        using var cts = new CancellationTokenSource();
        var progress = new CallbackProgress(p => { if (p.Phase == MigrationPhase.PostCopy) cts.Cancel(); });
        var options = new MigrationOptions { Mode = MigrationMode.PostCopy, PostCopyAfterBulkRound = false, MaxBandwidth = 4L << 20 };

        var (source, target) = h.Migrate(h.Source, options, ct: cts.Token, progress: progress);

        Assert.False(source.Succeeded);
        Assert.True(source.OwnershipMoved);
        Assert.False(target.Succeeded);
        Assert.Matches(@"^post-copy lost the source with [1-9]\d* pages missing$", target.FailureReason);
        var machine = target.Machine!;
        try
        {
            Assert.True(machine.WaitForExit(MigrationHarness.Timeout));
            Assert.Equal(MachineExitKind.InternalError, machine.Exit!.Kind);
            Assert.Contains(target.FailureReason!, machine.Exit.Reason);
        }
        finally
        {
            machine.Dispose();
        }
        return source;
    }

    /// <summary>Reports progress synchronously on the reporting thread (Progress&lt;T&gt; would post it).</summary>
    private sealed class CallbackProgress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }
}
