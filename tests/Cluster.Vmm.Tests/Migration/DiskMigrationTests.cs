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

    // The guest waits 1.2 ms after each block, so that its run lasts at least 7.4 s on any host and the hand-over
    // lands mid-run (at 400 us, 2.5 s, a quiet machine finished all the blocks before a migration over TLS paused it).
    private const string Paced = "gap_us=1200";
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
        string image = NewImage(DiskFormat.Raw);
        using var h = new MigrationHarness(BackendKind.Emulated, BackendKind.Emulated, Config(image, DiskFormat.Raw, Paced, "seq", Blocks.ToString()));
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("seq written="), "the guest to write its first blocks");
        // The commit runs after the target has taken (opened and locked) the disk: failing it makes the
        // source take the disk back while the target lets go of it.
        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Commit = _ => throw new VmmException("journal unavailable") });
        Assert.False(source.Succeeded);
        Assert.Equal("journal unavailable", source.FailureReason);
        Assert.False(target.Succeeded);
        Assert.True(h.Source.WaitForExit(MigrationHarness.Timeout * 2), "the guest did not finish its blocks on the source");
        Assert.Equal(0, h.Source.Exit!.ExitStatus);
        Assert.Contains($"seq written={Blocks} ok", h.SourceConsole.Text);
        h.Source.Dispose();
        CheckUnbrokenRun(image, DiskFormat.Raw);
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
        string image = NewImage(format);
        using var h = new MigrationHarness(backend, backend, Config(image, format, Paced, "seq", Blocks.ToString()));
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("seq written="), "the guest to write its first blocks");
        var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = mode });
        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        string before = h.SourceConsole.Text;
        Assert.DoesNotContain("ok", before.Split('\n').Where(l => l.StartsWith("seq ", StringComparison.Ordinal) && !l.StartsWith("seq written=", StringComparison.Ordinal)));
        Assert.True(h.Target!.WaitForExit(MigrationHarness.Timeout * 2), "the guest did not finish its blocks on the target");
        Assert.True(h.Target.Exit!.ExitStatus == 0, $"{h.Target.Exit}: {h.TargetConsole!.Text[^Math.Min(400, h.TargetConsole.Text.Length)..]}");
        Assert.Contains($"seq written={Blocks} ok", h.TargetConsole!.Text);
        h.Target.Dispose(); // closes the image
        CheckUnbrokenRun(image, format);
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
        string path = Path.Combine(_dir, format == DiskFormat.Raw ? "disk.raw" : "disk.qcow2");
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
