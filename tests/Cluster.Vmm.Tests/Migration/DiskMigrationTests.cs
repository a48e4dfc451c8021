using System.Buffers.Binary;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Tests.Kvm;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>
/// Live migration of a machine with a virtio-blk disk on storage both sides see (the same file): the
/// blk guest writes 4 KiB blocks numbered 0..N-1 at queue depth 1 while it moves, and afterwards the
/// image holds an unbroken run: every block once, in place, none lost in the hand-over (a request in
/// flight at the pause is drained on the source, the rest are served by the target).
/// </summary>
public sealed class DiskMigrationTests : IDisposable
{
    private const ulong SeqMagic = 0x3130515345534b42UL;
    private const int Blocks = 6144;

    private int _images;
    private readonly string _dir = Directory.CreateTempSubdirectory("disk-mig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(DiskFormat.Raw)]
    [InlineData(DiskFormat.Qcow2)]
    public void Sequence_numbered_blocks_written_across_a_migration_have_no_gap_and_no_repeat(DiskFormat format)
    {
        Run(BackendKind.Emulated, format, MigrationMode.PreCopy);
    }

    [Fact]
    public void Sequence_numbered_blocks_written_across_a_post_copy_migration_have_no_gap_and_no_repeat()
    {
        Run(BackendKind.Emulated, DiskFormat.Raw, MigrationMode.PostCopy);
    }

    [KvmFact]
    public void Sequence_numbered_blocks_written_across_a_migration_between_kvm_machines_have_no_gap_and_no_repeat()
    {
        Run(BackendKind.Kvm, DiskFormat.Raw, MigrationMode.PreCopy);
    }

    [Fact]
    public void A_failed_commit_gives_the_disk_back_to_the_source_where_the_blocks_go_on_unbroken()
    {
        foreach (int gapUs in PacingsUs)
        {
            string image = NewImage(DiskFormat.Raw);
            using var h = new MigrationHarness(BackendKind.Emulated, BackendKind.Emulated, Config(image, DiskFormat.Raw, $"gap_us={gapUs}", "seq", Blocks.ToString()));
            MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("seq written="), "the guest to write its first blocks");
            // The commit runs after the target has taken (opened and locked) the disk: failing it makes the
            // source take the disk back while the target lets go of it.
            var (source, target) = h.Migrate(h.Source, new MigrationOptions { Commit = _ => throw new VmmException("journal unavailable") });
            Assert.False(source.Succeeded);
            Assert.False(target.Succeeded);
            if (FinishedBeforePause(h)) continue;
            Assert.Equal("journal unavailable", source.FailureReason);
            Assert.True(h.Source.WaitForExit(MigrationHarness.Timeout * 2), "the guest did not finish its blocks on the source");
            Assert.Equal(0, h.Source.Exit!.ExitStatus);
            Assert.Contains($"seq written={Blocks} ok", h.SourceConsole.Text);
            h.Source.Dispose();
            CheckUnbrokenRun(image, DiskFormat.Raw);
            return;
        }
        Assert.Fail($"the guest finished its blocks before every migration paused it (pacings {string.Join(", ", PacingsUs)} us)");
    }

    [Fact]
    public void A_target_that_does_not_see_the_disk_refuses_and_the_vm_runs_on_at_the_source()
    {
        string image = NewImage(DiskFormat.Raw);
        using var h = new MigrationHarness(BackendKind.Emulated, BackendKind.Emulated, Config(image, DiskFormat.Raw, "seq", "0"));
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("seq written="), "the guest to write its first blocks");
        // The target host sees another file system: the same path does not exist there.
        var (source, target) = h.Migrate(h.Source, targetOptions: new MigrationTargetOptions
        {
            CreateMachine = config => Cluster.Vmm.Machine.Machine.Create(new Cluster.Vmm.Emulated.EmulatedHypervisor(),
                config with { Disks = [.. config.Disks.Select(d => d with { Path = d.Path + ".elsewhere" })] }),
        });
        Assert.False(source.Succeeded);
        Assert.Contains("not visible on this host", source.FailureReason);
        Assert.False(target.Succeeded);
        int before = h.SourceConsole.Text.Length;
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Length > before, "the guest to go on writing on the source");
    }

    private void Run(BackendKind backend, DiskFormat format, MigrationMode mode)
    {
        // The hand-over must land while the guest still writes: a machine too slow (or too busy) to pause it within the
        // paced run sees the guest finish first, which proves nothing either way; such a try is run again with a guest
        // paced more slowly rather than failed or passed.
        foreach (int gapUs in PacingsUs)
        {
            if (RunOnce(backend, format, mode, gapUs)) return;
        }
        Assert.Fail($"the guest finished its blocks before every migration paused it (pacings {string.Join(", ", PacingsUs)} us)");
    }

    // The guest waits this long after each block: at 1200 us its run lasts at least 7.4 s on any host (at 400 us, 2.5 s,
    // a quiet machine finished all the blocks before a migration over TLS paused it; a CI machine busy with other
    // test classes once did at 1200 us too).
    private static readonly int[] PacingsUs = [1200, 4000, 12000];

    /// <summary>Whether the source guest ran to its end (every block written and checked) before the migration could
    /// pause it: such a try says nothing about the hand-over.</summary>
    private static bool FinishedBeforePause(MigrationHarness h) =>
        h.Source.Exit is { ExitStatus: 0 } && h.SourceConsole.Text.Contains($"seq written={Blocks} ok");

    private bool RunOnce(BackendKind backend, DiskFormat format, MigrationMode mode, int gapUs)
    {
        string image = NewImage(format);
        using var h = new MigrationHarness(backend, backend, Config(image, format, $"gap_us={gapUs}", "seq", Blocks.ToString()));
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("seq written="), "the guest to write its first blocks");
        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = mode });
        if (!source.Succeeded && FinishedBeforePause(h))
        {
            Assert.False(target.Succeeded);
            return false;
        }
        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        string before = h.SourceConsole.Text;
        Assert.DoesNotContain("ok", before.Split('\n').Where(l => l.StartsWith("seq ", StringComparison.Ordinal) && !l.StartsWith("seq written=", StringComparison.Ordinal)));
        Assert.True(h.Target!.WaitForExit(MigrationHarness.Timeout * 2), "the guest did not finish its blocks on the target");
        Assert.True(h.Target.Exit!.ExitStatus == 0, $"{h.Target.Exit}: {h.TargetConsole!.Text[^Math.Min(400, h.TargetConsole.Text.Length)..]}");
        Assert.Contains($"seq written={Blocks} ok", h.TargetConsole!.Text);
        h.Target.Dispose(); // closes the image
        CheckUnbrokenRun(image, format);
        return true;
    }

    private MachineConfig Config(string image, DiskFormat format, params string[] args) => new()
    {
        MemoryBytes = 32UL << 20,
        Image = new BuiltInGuestImage("blk"),
        Args = args,
        Disks = [new DiskConfig(image, format)],
    };

    private string NewImage(DiskFormat format)
    {
        string path = Path.Combine(_dir, $"disk{++_images}" + (format == DiskFormat.Raw ? ".raw" : ".qcow2"));
        DiskImage.Create(path, format, (ulong)Blocks * 4096 + (1 << 20));
        return path;
    }

    private static void CheckUnbrokenRun(string path, DiskFormat format)
    {
        using var image = DiskImage.Open(path, format, readOnly: true, DiskCacheMode.Writeback);
        var block = new byte[4096];
        for (int i = 0; i < Blocks; i++)
        {
            image.Read((ulong)i * 4096, block);
            ulong magic = BinaryPrimitives.ReadUInt64LittleEndian(block);
            Assert.True(magic == SeqMagic, $"block {i} was never written (magic {magic:x})");
            for (int w = 1; w < 512; w++)
            {
                ulong n = BinaryPrimitives.ReadUInt64LittleEndian(block.AsSpan(8 * w));
                Assert.True(n == (ulong)i, $"block {i} holds number {n} at word {w}");
            }
        }
    }
}
