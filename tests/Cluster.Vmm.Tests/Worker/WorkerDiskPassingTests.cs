using System.Text;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Tests.TestUtils;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

/// <summary>Disks passed to a worker as open files (SCM_RIGHTS with Create): the worker opens nothing by path.</summary>
public sealed class WorkerDiskPassingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wdisk-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NewRaw(string name)
    {
        string path = Path.Combine(_dir, name);
        DiskImage.Create(path, DiskFormat.Raw, 4UL << 20);
        return path;
    }

    private static WorkerCreate Blk(MachineConfig disks, string args) =>
        new("vm-d", 1, disks with { MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage("blk"), Args = args.Split(' ') });

    private static MachineConfig Disks(params DiskConfig[] disks) => new() { Image = new BuiltInGuestImage("blk"), Disks = disks };

    /// <summary>Runs the blk guest in a new worker with its disks passed; the exit status and the console.</summary>
    private static (int Exit, string Console) Run(MachineConfig disks, string args, uint? version = null)
    {
        using var rig = new WorkerRig(configure: version is { } v ? o => o with { ProtocolVersion = v } : null);
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        using (var passed = PassedDisks.Open(disks))
            client.Create(Blk(passed.Config, args));
        client.Start();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the guest's exit");
        return (events.Exits[0].ExitStatus ?? -1, events.Console().Text);
    }

    [Fact]
    public void The_guest_writes_and_reads_its_disk_through_the_passed_file_when_the_path_is_gone()
    {
        string image = NewRaw("a.img");
        string moved = Path.Combine(_dir, "moved.img");
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        using (var passed = PassedDisks.Open(Disks(new DiskConfig(image, DiskFormat.Raw))))
        {
            File.Move(image, moved);
            client.Create(Blk(passed.Config, "pattern 7 64 check 7 64"));
        }
        client.Start();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the guest's exit");

        var console = events.Console().Text;
        Assert.True(events.Exits[0].ExitStatus == 0, console);
        Assert.Contains("check seed=7 start=0 sectors=64", console);
        Assert.True(File.ReadAllBytes(moved).AsSpan(0, 64 * 512).IndexOfAnyExcept((byte)0) >= 0, "the pattern is not in the file");
        // The worker's stats count what the guest's driver moved: the pattern's 64 sectors written, read back and checked.
        var io = client.Stats().Io ?? throw new Xunit.Sdk.XunitException("a current worker sent no I/O counters");
        Assert.True(io.DiskWriteBytes >= 64 * 512 && io.DiskWriteOps >= 1, $"writes: {io}");
        Assert.True(io.DiskReadBytes >= 2 * 64 * 512 && io.DiskReadOps >= 2, $"reads: {io}");
        Assert.Equal((0L, 0L), (io.NetRxBytes, io.NetTxBytes));
    }

    [Fact]
    public void A_qcow2_overlay_reads_its_backing_file_through_the_passed_chain()
    {
        string baseImage = NewRaw("base.img");
        Assert.Equal(0, Run(Disks(new DiskConfig(baseImage, DiskFormat.Raw)), "pattern 9 32").Exit);
        string overlay = Path.Combine(_dir, "top.qcow2");
        DiskImage.Create(overlay, DiskFormat.Qcow2, null, new DiskCreateOptions { BackingFile = baseImage, BackingFormat = DiskFormat.Raw });

        using var rig = new WorkerRig();
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        using (var passed = PassedDisks.Open(Disks(new DiskConfig(overlay))))
        {
            Assert.Equal([overlay, baseImage], passed.Config.Disks[0].Files!.Files.Select(f => f.Path));
            Assert.Equal([true, false], passed.Config.Disks[0].Files!.Files.Select(f => f.Writable));
            Directory.Move(_dir, _dir + "-away");
            try
            {
                client.Create(Blk(passed.Config, "check 9 32 pattern 4 8 check 4 8"));
            }
            finally
            {
                Directory.Move(_dir + "-away", _dir);
            }
        }
        client.Start();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the guest's exit");

        var console = events.Console().Text;
        Assert.True(events.Exits[0].ExitStatus == 0, console);
        Assert.Contains("check seed=9 start=0 sectors=32", console);
    }

    [Fact]
    public void A_second_worker_cannot_take_a_writable_image_the_first_runs_on()
    {
        string image = NewRaw("shared.img");
        var disks = Disks(new DiskConfig(image, DiskFormat.Raw));
        using var first = new WorkerRig("one");
        using var second = new WorkerRig("two");
        using var a = first.Connect();
        using var b = second.Connect();
        using (var passed = PassedDisks.Open(disks))
            a.Create(Blk(passed.Config, "pattern 1 8"));

        using var again = PassedDisks.Open(disks);
        var e = Assert.Throws<VmmException>(() => b.Create(Blk(again.Config, "pattern 1 8")));
        Assert.Contains("is in use", e.Message);
    }

    [Fact]
    public void A_worker_one_version_back_still_gets_its_disks()
    {
        string image = NewRaw("old.img");
        var (exit, console) = Run(Disks(new DiskConfig(image, DiskFormat.Raw)), "pattern 3 16 check 3 16", version: WorkerProtocol.Version - 1);
        Assert.True(exit == 0, console);
    }

    [Fact]
    public void The_files_a_request_lists_must_be_the_descriptors_that_came_with_it()
    {
        string image = NewRaw("listed.img");
        using var passed = PassedDisks.Open(Disks(new DiskConfig(image, DiskFormat.Raw)));
        var payload = WorkerCodec.Encode(w => w.Write(Blk(passed.Config, "x")));
        var handle = Assert.Single(WorkerCodec.Descriptors(null, passed.Config));

        var decoded = WorkerCodec.Decode(payload, r => r.ReadCreate([handle]));
        Assert.Equal(image, Assert.Single(decoded.Machine.Disks[0].Files!.Files).Path);
        Assert.Null(decoded.Kvm);
        Assert.Contains("more files were listed than the 0 descriptors", Assert.Throws<VmmException>(() => WorkerCodec.Decode(payload, r => r.ReadCreate([]))).Message);
        Assert.Contains("2 descriptors came for 1 files", Assert.Throws<VmmException>(() => WorkerCodec.Decode(payload, r => r.ReadCreate([handle, handle]))).Message);
    }

    [Fact]
    public void A_read_only_disk_is_passed_read_only()
    {
        string image = NewRaw("ro.img");
        using var passed = PassedDisks.Open(Disks(new DiskConfig(image, DiskFormat.Raw, ReadOnly: true)));
        var file = Assert.Single(passed.Config.Disks[0].Files!.Files);
        Assert.False(file.Writable);
        Assert.ThrowsAny<Exception>(() => RandomAccess.Write(file.Handle, Encoding.ASCII.GetBytes("x"), 0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_disk_passed_to_both_workers_is_handed_over_in_a_migration_or_given_back_when_the_commit_fails(bool commit)
    {
        const int blocks = 2048;
        string image = Path.Combine(_dir, "mig.img");
        DiskImage.Create(image, DiskFormat.Raw, (ulong)blocks * 4096 + (1 << 20));
        var disks = Disks(new DiskConfig(image, DiskFormat.Raw));
        using var sourceRig = new WorkerRig("src");
        using var targetRig = new WorkerRig("dst", directory: sourceRig.Directory);
        using var source = sourceRig.Connect();
        using var target = targetRig.Connect();
        var sourceEvents = new WorkerRig.Events(source);
        var targetEvents = new WorkerRig.Events(target);
        using var sourceDisks = PassedDisks.Open(disks);
        using var targetDisks = PassedDisks.Open(disks);
        var create = Blk(sourceDisks.Config, $"gap_us=400 seq {blocks}");
        source.Create(create);
        source.Start();
        WorkerRig.WaitUntil(() => sourceEvents.Console().Text.Contains("seq written="), "the guest's first blocks");
        var listen = target.ListenIncoming(new WorkerIncoming("vm-d", 2, create.Machine with { Disks = targetDisks.Config.Disks }));

        Directory.Move(_dir, _dir + "-away");
        MigrationResult result;
        try
        {
            result = await source.MigrateOutAsync("127.0.0.1", listen.Port, listen.Credentials, new WorkerMigrationOptions { Mode = MigrationMode.PreCopy }, null,
                _ => commit ? Task.CompletedTask : throw new InvalidOperationException("refused")).WaitAsync(WorkerRig.Timeout);
            var runner = commit ? targetEvents : sourceEvents;
            WorkerRig.WaitUntil(() => runner.Exits.Count == 1, "the guest's end");
        }
        finally
        {
            Directory.Move(_dir + "-away", _dir);
        }

        Assert.Equal(commit, result.Succeeded);
        var console = (commit ? targetEvents : sourceEvents).Console().Text;
        Assert.Contains($"seq written={blocks} ok", console);
    }
}
