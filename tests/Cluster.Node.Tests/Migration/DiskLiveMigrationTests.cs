using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmctl.Client;
using Cluster.Vmm.Storage;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Migration;

/// <summary>
/// VMs with virtio-blk disks on two real `cluster-node run` processes (SQLite journal in WAL mode shared by them, or
/// PostgreSQL when CLUSTER_PG_URL is set), driven with the real vmctl. Both hosts see the images at the same path (the
/// same file on this machine, as shared storage would be). The guest is `blk`, with its own virtio-blk driver: `seq N`
/// writes 4 KiB blocks 0..N-1 at queue depth 1 (block i: the magic, then i in every other u64), printing
/// `seq written=K` every 256 blocks, so the image and the console both show whether a block was lost or written twice.
/// </summary>
public sealed partial class DiskLiveMigrationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const ulong SeqMagic = 0x3130515345534b42UL;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-disk-migration", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly List<NodeProcess> _nodes = [];
    private PostgresScratch? _postgres;
    private NodeClient? _client;

    private string Host(int i) => $"127.0.0.1:{_ports[i]}";

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    private string Shared => Path.Combine(_data, "shared");

    private ClusterVmctl Ctl => new(Host);

    private async Task StartClusterAsync()
    {
        Directory.CreateDirectory(Shared);
        string config = Path.Combine(_data, "images.conf");
        await File.WriteAllTextAsync(config, $"cluster-hypervisor.images.allowed-dirs = [\"{Shared}\"]\n");
        if (Environment.GetEnvironmentVariable("CLUSTER_PG_URL") is { Length: > 0 } pg)
            _postgres = new PostgresScratch(pg);
        var journal = _postgres is not null ? $"postgres:{_postgres.ConnectionString}" : $"sqlite:{Path.Combine(_data, "journal.db")}";
        var starting = Enumerable.Range(0, 2).Select(i => NodeProcess.StartAsync(_ports[i], Path.Combine(_data, $"n{i}"),
            "--seed", Host(0), "--journal", journal, "--vcpus", "2", "--memory", "64M", "--rebalance", "off", "--run-log", RunLog(i),
            "--config", config)).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            _nodes.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }
        await ClusterVmctl.Eventually(async () =>
            JsonDocument.Parse((await Ctl.Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength() == 2, "two hosts");
    }

    private async Task<int> CreateAsync(string id, string image, string format, params string[] args)
    {
        string[] create = ["create", id, "--image", "blk", "--memory", "32M", "--disk", $"path={image},format={format}"];
        var created = (await Ctl.Ok(0, [.. create, .. args.SelectMany(a => new[] { "--arg", a }), "--start"])).Stdout;
        return Enumerable.Range(0, 2).Single(i => created.Contains($"on {Host(i)}", StringComparison.Ordinal));
    }

    private async Task<(string Node, string Status)> WhereAsync(string id)
    {
        var vms = (await Ctl.ListAsync(0)).Where(v => v.GetProperty("id").GetString() == id).ToList();
        return vms is [var vm] ? (vm.GetProperty("node").GetString()!, vm.GetProperty("status").GetString()!) : ("", "");
    }

    /// <summary>Asks through host 0 on one client kept for the test (a client per poll would take a second or more to connect).</summary>
    private async Task<T> AskAsync<T>(object message)
    {
        _client ??= await NodeTokens.ConnectAsync(Host(0), TimeSpan.FromSeconds(20));
        var reply = await _client.AskAsync(message);
        return reply is T t ? t : throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {reply}");
    }

    private async Task<string> ConsoleAsync(string id) =>
        Encoding.ASCII.GetString((await AskAsync<ConsoleOutput>(new ConsoleTail(id, 60_000))).Data);

    private async Task<IReadOnlyList<VmEvent>> EventsAsync(string id) =>
        (await AskAsync<VmEventList>(new GetVmEvents(id))).Events;

    [GeneratedRegex(@"^seq written=(\d+)\r?$", RegexOptions.Multiline)]
    private static partial Regex WrittenLine();

    [GeneratedRegex(@"^crc start=0 sectors=(\d+) crc32=([0-9a-fx]+)", RegexOptions.Multiline)]
    private static partial Regex CrcLine();

    [GeneratedRegex(@"^pattern seed=7 start=0 sectors=2048 crc32=([0-9a-fx]+) ok", RegexOptions.Multiline)]
    private static partial Regex PatternLine();

    /// <summary>The `seq written=K` counts printed, in order.</summary>
    private static List<long> Written(string console) =>
        [.. WrittenLine().Matches(console).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    private static List<string> Crcs(string console) => [.. CrcLine().Matches(console).Select(m => m.Groups[2].Value)];

    [Fact]
    public async Task A_vm_writing_numbered_blocks_to_a_qcow2_disk_moves_to_the_other_host_by_vmctl_migrate_and_its_image_holds_every_block_once_in_place()
    {
        // The guest runs on the emulator at queue depth 1: some 1000 blocks a second on a quiet machine, under 100 when
        // the suite's other tests load a 2-core CI machine (32768 blocks once took over 5 minutes after the migration).
        // Each block is followed by 2.5 ms of guest time (gap_us, TSC), so the run lasts at least 10 s on any host, which
        // keeps the guest writing when the migration, started once it printed its first 256, hands over (vmctl migrate
        // --wait took 3-7 s on a loaded 2-core machine), and ends within a minute or two under load.
        const int Blocks = 4096;
        await StartClusterAsync();
        var image = Path.Combine(Shared, "seq.qcow2");
        DiskImage.Create(image, DiskFormat.Qcow2, (ulong)Blocks * 4096 + (1 << 20));
        var a = await CreateAsync("w", image, "qcow2", "gap_us=2500", "seq", Blocks.ToString(CultureInfo.InvariantCulture));
        var b = 1 - a;
        await ClusterVmctl.Eventually(async () => Written(await ConsoleAsync("w")).Count > 0, "w writing its first blocks", 60);

        var before = Written(await ConsoleAsync("w"))[^1];
        var clock = Stopwatch.StartNew();
        var moved = await Ctl.Run(0, "migrate", "w", "--to", Host(b), "--wait");
        var atMove = await ConsoleAsync("w");
        output.WriteLine($"vmctl migrate --wait took {clock.ElapsedMilliseconds} ms, from {before} to {Written(atMove).LastOrDefault()} of {Blocks} blocks written; console then ({atMove.Length} chars): {atMove[..Math.Min(300, atMove.Length)]}");
        Assert.True(moved.ExitCode == 0, $"vmctl migrate -> {moved.ExitCode}\n{moved.Stdout}\n{moved.Stderr}\n{atMove}");
        Assert.True(!atMove.Contains($"seq written={Blocks} ok", StringComparison.Ordinal),
            $"the guest had finished its blocks by the time the migration was done; it moved no writing guest:\n{atMove}");
        // Asked right away, the VM's console (on the target now) holds what the guest printed on the source.
        // (It may hold the first line alone: on a loaded machine the guest can print no second one while the migration runs.)
        Assert.True(Written(atMove) is [256, ..] lines && lines[^1] >= before, $"the console right after the migration:\n{atMove}");

        var deadline = DateTime.UtcNow.AddSeconds(300);
        bool finished;
        // A crash ends the wait at once (a cold boot beside the migrated guest fails on the image's lock).
        while (!(finished = await WhereAsync("w") == (Host(b), "Stopped")) && (await WhereAsync("w")).Status != "Crashed"
               && DateTime.UtcNow < deadline)
            await Task.Delay(500);
        var console = await ConsoleAsync("w");
        Assert.True(finished, $"w did not finish its blocks on the target: after {clock.Elapsed.TotalSeconds:0} s it is {await WhereAsync("w")}, " +
            $"{Written(console).LastOrDefault()} of {Blocks} written; console:\n{console[Math.Max(0, console.Length - 2000)..]}");
        output.WriteLine($"the guest finished {clock.ElapsedMilliseconds} ms after the migration began");
        Assert.Contains($"seq written={Blocks} ok", console);
        // The console went on on the target without a gap or a repeat (a cold restart would count from 256 again).
        Assert.Equal(Enumerable.Range(1, Blocks / 256).Select(k => k * 256L), Written(console));

        var events = await EventsAsync("w");
        var migrated = Assert.Single(events.OfType<VmMigrated>());
        Assert.Equal((Host(a), Host(b)), (migrated.From, migrated.To));
        Assert.Single(events.OfType<VmMigrationCompleted>());
        Assert.Single(events.OfType<VmStarted>());
        Assert.Empty(events.OfType<VmRestarted>());
        Assert.Empty(events.OfType<VmCrashed>());
        Assert.False(Assert.IsType<VmStopped>(events[^1]).Forced);
        var runs = RunIntervals.Read([RunLog(0), RunLog(1)], _ => long.MaxValue).Where(r => r.Vm == "w").ToList();
        RunIntervals.AssertNoOverlap(runs);
        Assert.Equal([a, b], runs.OrderBy(r => r.Start).Select(r => r.Host));

        // The guest has exited on the target, which closed the image.
        CheckUnbrokenRun(image, Blocks);
        await QemuImgCheckAsync(image);
    }

    [Fact]
    public async Task A_vm_stopped_and_started_again_finds_the_blocks_it_wrote_before_and_a_second_vm_on_the_same_image_checks_them()
    {
        await StartClusterAsync();
        var image = Path.Combine(Shared, "data.qcow2");
        DiskImage.Create(image, DiskFormat.Qcow2, 8 << 20);
        // Each run prints the CRC of sectors 0..2047 as it finds them, writes the seeded pattern there, then writes
        // numbered blocks forever past it (sectors 4096..4159), so that the stop comes while it writes.
        string[] args = ["crc", "2048", "pattern", "7", "2048", "start=4096", "span=64", "seq", "0"];
        await CreateAsync("p", image, "qcow2", args);
        await ClusterVmctl.Eventually(async () => Written(await ConsoleAsync("p")).Count > 0, "p writing past its pattern", 60);
        var first = await ConsoleAsync("p");
        var empty = Assert.Single(Crcs(first));
        var written = PatternLine().Match(first);
        Assert.True(written.Success, first);
        var pattern = written.Groups[1].Value;
        Assert.NotEqual(empty, pattern);

        await Ctl.Ok(0, "stop", "p");
        await ClusterVmctl.Eventually(async () => (await WhereAsync("p")).Status == "Stopped", "p stopped");
        await Ctl.Ok(0, "start", "p");
        // The console lives as long as the VM's actor: both runs' lines, unless the start placed it afresh elsewhere.
        await ClusterVmctl.Eventually(async () => Crcs(await ConsoleAsync("p")) is var crcs && (crcs.Count == 2 || crcs is [var c] && c == pattern),
            "p's second run to read its sectors", 60);
        var second = await ConsoleAsync("p");
        Assert.True(Crcs(second)[^1] == pattern, $"the second run found other data than the first wrote:\n{second}");
        Assert.Equal(2, (await EventsAsync("p")).OfType<VmStarted>().Count());
        await Ctl.Ok(0, "stop", "p");
        await ClusterVmctl.Eventually(async () => (await WhereAsync("p")).Status == "Stopped", "p stopped again");

        await CreateAsync("c", image, "qcow2", "check", "7", "2048");
        await ClusterVmctl.Eventually(async () => (await WhereAsync("c")).Status is "Stopped" or "Crashed", "c to check the pattern");
        var check = await ConsoleAsync("c");
        Assert.Matches(@"(?m)^check seed=7 start=0 sectors=2048 crc32=" + pattern + " ok", check);
        Assert.False(Assert.IsType<VmStopped>((await EventsAsync("c"))[^1]).Forced);
        await QemuImgCheckAsync(image);
    }

    private static void CheckUnbrokenRun(string path, int blocks)
    {
        using var image = DiskImage.Open(path, DiskFormat.Qcow2, readOnly: true, DiskCacheMode.Writeback);
        var block = new byte[4096];
        for (var i = 0; i < blocks; i++)
        {
            image.Read((ulong)i * 4096, block);
            var magic = BinaryPrimitives.ReadUInt64LittleEndian(block);
            Assert.True(magic == SeqMagic, $"block {i} was never written (magic {magic:x})");
            for (var w = 1; w < 512; w++)
            {
                var n = BinaryPrimitives.ReadUInt64LittleEndian(block.AsSpan(8 * w));
                Assert.True(n == (ulong)i, $"block {i} holds number {n} at word {w}");
            }
        }
        image.Read((ulong)blocks * 4096, block);
        Assert.True(block.All(x => x == 0), $"block {blocks} was written: the guest wrote past its run");
    }

    /// <summary>qemu-img check, where qemu-img is installed: no errors, no leaks.</summary>
    private async Task QemuImgCheckAsync(string path)
    {
        var qemuImg = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "qemu-img")).FirstOrDefault(File.Exists);
        if (qemuImg is null)
        {
            output.WriteLine("qemu-img is not installed: the image was checked by reading it only");
            return;
        }
        var info = new ProcessStartInfo(qemuImg) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "check", "-f", "qcow2", path })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0, $"qemu-img check -> {process.ExitCode}\n{await stdout}\n{await stderr}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_client is not null)
            await _client.DisposeAsync();
        NodeTeardown.Run(_nodes, "disk-", _postgres, _data);
    }
}
