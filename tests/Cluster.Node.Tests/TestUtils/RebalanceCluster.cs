using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// Up to four real `cluster-node run` processes on loopback for the rebalancing tests: host <c>i</c> is labelled
/// <c>zone=z{i}</c>, offers 2 vCPUs and 32 MiB, writes a run log, and runs the rebalancer with short test settings
/// (--config: interval 1 s, hold 2 s) in the mode given (--rebalance). Hosts start one by one, so a test decides
/// when a host joins.
/// The journal is PostgreSQL when CLUSTER_PG_URL is set (scripts/postgres), else a SQLite file shared in WAL mode.
/// The VMs are busy counters: the paced dirtier spins on the TSC between its writes, so it keeps its vCPU busy
/// while printing only a couple of numbered lines a second, and the 64 KiB console tail holds its whole life.
/// </summary>
internal sealed partial class RebalanceCluster : IAsyncDisposable
{
    /// <summary>The rebalancer's interval in these tests.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-rebalance", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort(), ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly NodeProcess?[] _nodes = new NodeProcess?[4];
    private readonly string _journal;
    private readonly string _config;
    private readonly string _mode;
    private readonly PostgresScratch? _postgres;
    private NodeClient? _client;

    /// <summary>A cluster whose rebalancer starts in <paramref name="mode"/> (off, recommend or automatic); no host runs yet.</summary>
    public RebalanceCluster(string mode)
    {
        Directory.CreateDirectory(_data);
        if (Environment.GetEnvironmentVariable("CLUSTER_PG_URL") is { Length: > 0 } pg)
            _postgres = new PostgresScratch(pg);
        _journal = _postgres is not null ? $"postgres:{_postgres.ConnectionString}" : $"sqlite:{Path.Combine(_data, "journal.db")}";
        _mode = mode;
        _config = Path.Combine(_data, "test.conf");
        File.WriteAllText(_config,
            $$"""
            cluster-hypervisor.rebalancer {
              interval = {{Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)}}s
              hold = 2s
              retry-backoff = 2s
              settle-timeout = 10s
            }
            # Every pass line since the boot must fit (the busy guests' pacing follows the guest's TSC calibration,
            # which a loaded machine skews upwards), under what a migration carries to the target (100,000 bytes).
            cluster-hypervisor.console-buffer-bytes = {{ConsoleBytes}}
            # The hosts share this machine's cores: loads from the vCPUs' time in the guest, not their workers' cgroups.
            cluster-hypervisor.host.cpu-load = vcpu
            """);
    }

    /// <summary>The console kept per VM in these hosts, and the tail the tests read.</summary>
    private const int ConsoleBytes = 98_000;

    /// <summary>The real vmctl against these hosts.</summary>
    public ClusterVmctl Ctl => new(Host);

    /// <summary>Host <paramref name="i"/>'s address, HOST:PORT.</summary>
    public string Host(int i) => $"127.0.0.1:{_ports[i]}";

    /// <summary>The index of the host at <paramref name="address"/>.</summary>
    public int IndexOf(string address) => Array.FindIndex(_ports, p => address == $"127.0.0.1:{p}");

    /// <summary>Starts host <paramref name="i"/> (host 0 is the seed) and waits until the cluster lists it.</summary>
    public async Task StartHostAsync(int i)
    {
        _nodes[i] = await NodeProcess.StartAsync(_ports[i], Path.Combine(_data, $"n{i}"),
            "--seed", Host(0), "--journal", _journal, "--vcpus", "2", "--memory", "32M", "--label", $"zone=z{i}",
            "--run-log", RunLog(i), "--config", _config, "--rebalance", _mode);
        _client ??= await NodeTokens.ConnectAsync(Host(0), TimeSpan.FromSeconds(20));
        await ClusterVmctl.Eventually(async () => (await AskAsync<HostList>(ListHosts.Instance)).Hosts.Any(h => h.Host == Host(i)),
            $"host {i} in the cluster");
    }

    /// <summary>Asks the cluster through host 0 with one long-lived client and checks the reply's type.</summary>
    public async Task<T> AskAsync<T>(object message)
    {
        var reply = await _client!.AskAsync(message);
        return reply is T t ? t : throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {reply}");
    }

    /// <summary>The rebalancer's status.</summary>
    public Task<RebalanceStatus> StatusAsync() => AskAsync<RebalanceStatus>(GetRebalanceStatus.Instance);

    /// <summary>Where each VM runs: id to host index; a VM between hosts (its entity being handed over) is listed by none.</summary>
    public async Task<Dictionary<string, int>> WhereAsync() =>
        (await AskAsync<VmList>(ListVms.Instance)).Vms.ToDictionary(v => v.Spec.Id, v => IndexOf(v.Node), StringComparer.Ordinal);

    /// <summary>Creates and starts a busy counter (with extra vmctl create options) and returns its host's index.</summary>
    public async Task<int> CreateBusyAsync(string id, params string[] options)
    {
        var created = (await Ctl.Ok(0, ["create", id, "--image", "dirtier", "--memory", "4M", "--arg", "1", "--arg", "2", .. options, "--start"])).Stdout;
        return Enumerable.Range(0, _ports.Length).Single(i => created.Contains($"on {Host(i)}", StringComparison.Ordinal));
    }

    /// <summary>The VM's lifecycle events, oldest first.</summary>
    public async Task<IReadOnlyList<VmEvent>> EventsAsync(string id) => (await AskAsync<VmEventList>(new GetVmEvents(id))).Events;

    /// <summary>The moves committed for the VM, in order, as (from, to) host indexes.</summary>
    public async Task<List<(int From, int To)>> MovesAsync(string id) =>
        [.. (await EventsAsync(id)).OfType<VmMigrated>().Select(m => (IndexOf(m.From), IndexOf(m.To)))];

    /// <summary>The pass numbers the VM printed, in order, from its console tail.</summary>
    public async Task<List<long>> PassesAsync(string id) => (await PassesAndSizeAsync(id)).Passes;

    private async Task<(List<long> Passes, int Bytes)> PassesAndSizeAsync(string id)
    {
        var data = (await AskAsync<ConsoleOutput>(new ConsoleTail(id, ConsoleBytes))).Data;
        var text = Encoding.ASCII.GetString(data);
        return ([.. PassLine().Matches(text).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))], data.Length);
    }

    /// <summary>
    /// Fails unless the VM's console, whichever hosts it ran on, counts 1, 2, 3 ... with no gap and no repeat up to
    /// beyond <paramref name="atLeast"/>: the console history followed the VM and it never booted again.
    /// </summary>
    public async Task AssertCountsOnFromBootAsync(string id, long atLeast)
    {
        var (passes, bytes) = await PassesAndSizeAsync(id);
        // The console keeps ConsoleBytes: a guest that printed more since its boot starts later in the tail, but then the
        // tail is full (bytes dropped for size, not lost); the boots themselves are checked from the events (AssertLiveOnlyAsync).
        Assert.True(passes.Count > 0 && (passes[0] == 1 || bytes >= ConsoleBytes - 64),
            $"{id}'s console does not start at pass 1 and is not full ({bytes} bytes): {string.Join(' ', passes.Take(5))}");
        for (var i = 1; i < passes.Count; i++)
            Assert.True(passes[i] == passes[i - 1] + 1, $"{id}'s count jumps from {passes[i - 1]} to {passes[i]}");
        Assert.True(passes[^1] > atLeast, $"{id} stopped counting at {passes[^1]} (expected beyond {atLeast})");
    }

    /// <summary>
    /// Fails unless no VM ran on two hosts at once, each of <paramref name="vms"/> runs exactly once now, booted once
    /// (one start event) and has one stay per host, its committed moves plus one (a stay may hold several run intervals when a lapsed
    /// run permit paused the guest there).
    /// </summary>
    public async Task AssertLiveOnlyAsync(IReadOnlyCollection<string> vms)
    {
        var intervals = RunIntervals.Read([.. Enumerable.Range(0, _ports.Length).Select(RunLog)], _ => long.MaxValue);
        RunIntervals.AssertNoOverlap(intervals);
        RunIntervals.AssertEachRunsOnce(intervals, vms);
        foreach (var vm in vms)
        {
            var events = await EventsAsync(vm);
            Assert.Single(events.OfType<VmStarted>());
            Assert.Empty(events.OfType<VmRestarted>());
            var moves = events.OfType<VmMigrated>().Count();
            // A run permit that lapsed on a starved host pauses the guest and ends its interval there; it resumes on the same
            // host, so consecutive intervals on one host are one stay.
            var hosts = intervals.Where(x => x.Vm == vm).OrderBy(x => x.Start).Select(x => x.Host).ToList();
            var stays = hosts.Where((h, i) => i == 0 || hosts[i - 1] != h).Count();
            Assert.Equal(moves + 1, stays);
        }
    }

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    [GeneratedRegex(@"dirtier pass (\d+)\n")]
    private static partial Regex PassLine();

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            try
            {
                await _client.DisposeAsync();
            }
            catch (TimeoutException)
            {
            }
        }
        NodeTeardown.Run(_nodes, "rebalance-", _postgres, _data);
    }
}
