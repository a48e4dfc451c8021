using System.Diagnostics;
using System.Text.Json;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>
/// Three real `cluster-node run` processes, each in its own network namespace on a bridge (so that a host can be cut off),
/// sharing a journal (<see cref="NemesisJournal"/>: SQLite in WAL mode on a small tmpfs, or PostgreSQL; the namespaces share
/// the file system, not the loopback network). Each host writes its run log and its workers write theirs
/// (<c>runI.log.vmm</c>: where guests really ran). The nemesis kills, stalls and cuts off hosts here (whole, one way, on and
/// off, or with packet loss through nftables in the host's namespace), delays one link (<see cref="LatencyRelay"/>), stops the
/// journal, and starts them again.
/// </summary>
internal sealed class NemesisCluster : IAsyncDisposable
{
    private const int Port = 4711;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-nemesis", Guid.NewGuid().ToString("N"));
    private readonly NetworkNamespaces _net = new(NemesisSchedule.Hosts);
    private readonly NodeProcess?[] _nodes = new NodeProcess?[NemesisSchedule.Hosts];
    private readonly int[] _starts = new int[NemesisSchedule.Hosts];
    private NemesisJournal? _journal;
    private NemesisImages? _images;

    public NemesisJournal Journal => _journal ?? throw new InvalidOperationException("the cluster has not started");

    /// <summary>The image directory the hosts share (a small tmpfs).</summary>
    public NemesisImages Images => _images ?? throw new InvalidOperationException("the cluster has not started");

    public string Host(int i) => $"{_net.Address(i)}:{Port}";

    public int IndexOf(string? host) => Enumerable.Range(0, NemesisSchedule.Hosts).FirstOrDefault(i => Host(i) == host, -1);

    public ClusterVmctl Ctl => new(Host);

    /// <summary>The workers' run log of host <paramref name="i"/>.</summary>
    public string WorkerRunLog(int i) => Path.Combine(_data, $"run{i}.log.vmm");

    /// <summary>How many times host <paramref name="i"/>'s node was started.</summary>
    public int Starts(int i) => _starts[i];

    public bool Running(int i) => _nodes[i] is { HasExited: false };

    public int Pid(int i) => _nodes[i]!.Pid;

    public async Task StartAsync()
    {
        Directory.CreateDirectory(_data);
        _journal = new NemesisJournal(_data);
        _images = new NemesisImages(_data);
        for (var i = 0; i < NemesisSchedule.Hosts; i++)
            _images.Link(Path.Combine(_data, $"n{i}"));
        await StartAllAsync();
        await ClusterVmctl.Eventually(async () => await MembersAsync(0) == NemesisSchedule.Hosts, "three hosts");
    }

    /// <summary>Starts every host's node as at the first start: each lists host 0 first, which starts the cluster.</summary>
    public Task StartAllAsync() => Task.WhenAll(Enumerable.Range(0, NemesisSchedule.Hosts).Select(i => StartNodeAsync(i, restart: false)));

    /// <summary>Starts host <paramref name="i"/>'s node (again, <paramref name="restart"/>), with the same data directory, port and
    /// journal. At the first start every host lists host 0 first (it starts the cluster); a restarted host lists only the
    /// others, so that it joins them and never starts a cluster of its own beside them, unless none of them runs.</summary>
    public async Task StartNodeAsync(int i, bool restart = true)
    {
        _starts[i]++;
        KeepLog(i);
        _nodes[i]?.Dispose();
        // With no other node running (the cluster downed them all), the restarted host lists itself first: it starts the
        // cluster again and the others join it.
        var alone = restart && !Enumerable.Range(0, NemesisSchedule.Hosts).Any(h => h != i && Running(h));
        var order = alone ? Enumerable.Range(0, NemesisSchedule.Hosts).OrderBy(h => h != i) : Enumerable.Range(0, NemesisSchedule.Hosts);
        var seeds = order.Where(h => !restart || alone || h != i).SelectMany(h => new[] { "--seed", Host(h) });
        _nodes[i] = await NodeProcess.StartAsync(_net.Inside(i, ProcessRunner.DotnetExec(Executables.NodeDll,
        [
            "run", "--host", _net.Address(i), "--port", $"{Port}", "--data", Path.Combine(_data, $"n{i}"), "--backend", "emulated",
            .. seeds, "--journal", Journal.Argument,
            "--vcpus", "4", "--memory", "64M", "--rebalance", "off", "--run-log", Path.Combine(_data, $"run{i}.log"), .. TestCa.NodeArgs,
        ])));
    }

    /// <summary>How many hosts host <paramref name="via"/> lists as up; 0 when it does not answer.</summary>
    public Task<int> MembersAsync(int via) => Ctl.MembersAsync(via);

    /// <summary>A host that answers, other than <paramref name="not"/> when one is given: the first from <paramref name="prefer"/> on.</summary>
    public int Via(int not = -1, int prefer = 0) =>
        Enumerable.Range(0, NemesisSchedule.Hosts).Select(k => (prefer + k) % NemesisSchedule.Hosts).FirstOrDefault(i => i != not && Running(i), 0);

    /// <summary>SIGKILL of the node, with its workers (<paramref name="withWorkers"/>: a host crash) or alone (a daemon crash).</summary>
    public void Kill(int i, bool withWorkers)
    {
        if (_nodes[i] is not { } node)
            return;
        if (withWorkers) node.Kill();
        else node.KillAlone();
    }

    public void Signal(int i, string signal)
    {
        if (_nodes[i] is { HasExited: false } node)
            Process.Start("kill", [$"-{signal}", $"{node.Pid}"])!.WaitForExit();
    }

    public void Isolate(int i) => _net.Isolate(i);

    public void Heal(int i) => _net.Heal(i);

    /// <summary>Host <paramref name="i"/> drops every packet from host <paramref name="peer"/>; what it sends still passes.</summary>
    public void DropFrom(int i, int peer) =>
        Nft(i, $"table inet nemesis {{ chain input {{ type filter hook input priority 0; policy accept; ip saddr {_net.Address(peer)} drop; }}; }}");

    /// <summary>Host <paramref name="i"/> drops <paramref name="percent"/> % of the packets it receives and of those it sends
    /// (not on its loopback), at random.</summary>
    public void Lose(int i, int percent) =>
        Nft(i, "table inet nemesis {" +
               $" chain input {{ type filter hook input priority 0; policy accept; iifname \"lo\" accept; numgen random mod 100 < {percent} drop; }};" +
               $" chain output {{ type filter hook output priority 0; policy accept; oifname \"lo\" accept; numgen random mod 100 < {percent} drop; }}; }}");

    /// <summary>Removes the rules of <see cref="DropFrom"/> and <see cref="Lose"/> from host <paramref name="i"/>.</summary>
    public void Unfilter(int i) => Nft(i, "delete table inet nemesis");

    /// <summary>Latency on the link between hosts <paramref name="i"/> and <paramref name="j"/>: a <see cref="LatencyRelay"/> at
    /// each end delays what goes through it by <paramref name="delay"/> each way (the connections open so far are reset, so
    /// that they open again through the relays). <see cref="RemoveLatency"/> gives the direct path back.</summary>
    public LatencyRelay[] AddLatency(int i, int j, TimeSpan delay)
    {
        var relays = new List<LatencyRelay>();
        try
        {
            foreach (var (from, to) in new[] { (i, j), (j, i) })
                relays.Add(new LatencyRelay(_net.Namespace(from), _net.Address(to), delay, script => Nft(from, script)));
            return [.. relays];
        }
        catch
        {
            RemoveLatency(i, j, relays);
            throw;
        }
    }

    /// <summary>Deletes the rules of <see cref="AddLatency"/> (new connections go direct) and closes the relays (the relayed
    /// connections end, and the nodes reconnect directly).</summary>
    public void RemoveLatency(int i, int j, IEnumerable<LatencyRelay> relays)
    {
        foreach (var h in new[] { i, j })
        {
            try { Nft(h, "delete table ip nemesis_latency"); }
            catch (InvalidOperationException) { }
        }
        foreach (var relay in relays)
            relay.Dispose();
    }

    private void Nft(int i, string script) => _net.Nft(i, script);

    /// <summary>Waits up to <paramref name="seconds"/> for host <paramref name="i"/>'s node to end (a downed node ends itself).</summary>
    public async Task<bool> ExitedWithinAsync(int i, int seconds)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); DateTime.UtcNow < deadline; await Task.Delay(250))
            if (!Running(i))
                return true;
        return !Running(i);
    }

    /// <summary>The VMs as host <paramref name="via"/> lists them: id to (host index, status); null when it does not answer.</summary>
    public async Task<Dictionary<string, (int Host, string Status)>?> ListAsync(int via)
    {
        var r = await Ctl.Run(via, "--json", "list");
        if (r.ExitCode != 0)
            return null;
        try
        {
            return JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToDictionary(v => v.GetProperty("id").GetString()!,
                v => (IndexOf(v.GetProperty("node").GetString()), v.GetProperty("status").GetString()!));
        }
        catch (JsonException) { return null; }
    }

    /// <summary>The VM's events, oldest first, asked through host <paramref name="via"/>.</summary>
    public async Task<IReadOnlyList<VmEvent>> EventsAsync(int via, string vm)
    {
        await using var client = await NodeTokens.ConnectAsync(Host(via), TimeSpan.FromSeconds(30));
        return await client.AskAsync(new GetVmEvents(vm)) is VmEventList list ? list.Events : [];
    }

    /// <summary>The last line of VM <paramref name="vm"/>'s console, asked through host <paramref name="via"/>; "" when none.</summary>
    public async Task<string> LastConsoleLineAsync(int via, string vm)
    {
        try
        {
            await using var client = await NodeTokens.ConnectAsync(Host(via), TimeSpan.FromSeconds(10));
            if (await client.AskAsync(new ConsoleTail(vm, 256)).WaitAsync(TimeSpan.FromSeconds(10)) is not ConsoleOutput output)
                return "";
            var lines = System.Text.Encoding.ASCII.GetString(output.Data).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? "" : lines[^1];
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"(no console: {e.GetType().Name})";
        }
    }

    /// <summary>
    /// With CLUSTER_TEST_LOGS set, appends what host <paramref name="i"/>'s node printed so far to
    /// nemesis-node<paramref name="i"/>.log there (each run of it in turn), before the process is replaced or disposed.
    /// </summary>
    private void KeepLog(int i)
    {
        if (_nodes[i] is not { } node || Environment.GetEnvironmentVariable("CLUSTER_TEST_LOGS") is not { Length: > 0 } logs)
            return;
        Directory.CreateDirectory(logs);
        File.AppendAllText(Path.Combine(logs, $"nemesis-node{i}.log"), $"==== kept at {DateTime.UtcNow:HH:mm:ss.fff} ====\n{node.Output}\n");
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < _nodes.Length; i++)
            KeepLog(i);
        foreach (var node in _nodes)
            node?.Dispose();
        // Workers of a node killed alone belong to no node process any more: ended by their records.
        WorkerRecords.KillAll(_data);
        _net.Dispose();
        _journal?.Dispose();
        _images?.Dispose();
        await Task.CompletedTask;
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }
}
