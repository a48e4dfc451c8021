using System.Text.RegularExpressions;
using Cluster.Node.Tests.TestUtils;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>
/// Runs one <see cref="NemesisSchedule"/> against a <see cref="NemesisCluster"/>: the client's operations through vmctl (each
/// recorded with whether it was acknowledged), the faults (each healed, and the cluster whole again, before the next), then
/// the quiet end and the checks of the history.
/// </summary>
internal sealed partial class NemesisDriver(NemesisCluster cluster, NemesisHistory history, NemesisSchedule schedule, NemesisCounters counters, ITestOutputHelper output)
{
    private static string Vm(int i) => $"v{i}";

    /// <summary>Creates and starts the schedule's VMs, the clients at the same time (client c creates VMs c, c + clients, ...),
    /// then its disk VMs (<see cref="NemesisSchedule.DiskVms"/>): the blk guest (24 MiB: its 16 MiB buffer) writing 4 KiB
    /// blocks of its sparse disk in order, one every 20 ms (so that it takes minutes to fill its disk), forever; it ends with
    /// exit status 2 on the first I/O error.</summary>
    public async Task CreateVmsAsync()
    {
        await Task.WhenAll(Enumerable.Range(0, schedule.Clients).Select(async c =>
        {
            for (var v = c; v < schedule.Vms; v += schedule.Clients)
                await CreateAsync(c, v, "--image", "abcount", "--memory", "4M");
        }));
        for (var v = schedule.Vms; v < schedule.Vms + schedule.DiskVms; v++)
            await CreateAsync(0, v, "--image", "blk", "--memory", "24M", "--disk", cluster.Images.CreateDisk($"{Vm(v)}.raw"), "--arg", "gap_us=20000", "--arg", "seq", "--arg", "0");
    }

    private async Task CreateAsync(int client, int v, params string[] args)
    {
        var at = NemesisHistory.NowNs();
        var r = await cluster.Ctl.Run(cluster.Via(prefer: client), ["create", Vm(v), .. args, "--start"]);
        history.Issued(new IssuedOp(at, OpKind.Create, Vm(v), null, r.ExitCode == 0, Short(r)));
    }

    /// <summary>Issues <paramref name="op"/> when it makes sense in the VM's state as a live host lists it (a stop of a running
    /// VM, a start of a stopped one, a migration of a running VM to another live host); otherwise nothing is recorded.</summary>
    public async Task IssueAsync(ClientOp op, int avoid = -1, int client = 0)
    {
        var via = cluster.Via(avoid, prefer: client);
        if (await cluster.ListAsync(via) is not { } vms)
        {
            history.Noted(NemesisHistory.NowNs(), $"{op.Kind} {Vm(op.Vm)} not issued: host {via} did not list the VMs");
            return;
        }
        if (!vms.TryGetValue(Vm(op.Vm), out var vm))
            return;
        string[]? args = op.Kind switch
        {
            OpKind.Migrate when vm.Status == "Running" && vm.Host != op.To && op.To != avoid && cluster.Running(op.To) =>
                ["migrate", Vm(op.Vm), "--to", cluster.Host(op.To), "--wait"],
            OpKind.Stop when vm.Status == "Running" => ["stop", Vm(op.Vm)],
            OpKind.Start when vm.Status is "Stopped" or "Crashed" => ["start", Vm(op.Vm)],
            _ => null,
        };
        if (args is null)
            return;
        var at = NemesisHistory.NowNs();
        var r = await cluster.Ctl.Run(via, args);
        history.Issued(new IssuedOp(at, op.Kind, Vm(op.Vm), op.Kind == OpKind.Migrate ? cluster.Host(op.To) : null, r.ExitCode == 0, Short(r)));
    }

    /// <summary>Issues <paramref name="ops"/> from the schedule's clients at the same time: client c issues the operations
    /// c, c + clients, ... one after the other, through its own host (the first live one from host c on, not <paramref name="avoid"/>).</summary>
    public Task IssueAllAsync(IReadOnlyList<ClientOp> ops, int avoid = -1) =>
        Task.WhenAll(Enumerable.Range(0, schedule.Clients).Select(async c =>
        {
            for (var i = c; i < ops.Count; i += schedule.Clients)
                await IssueAsync(ops[i], avoid, c);
        }));

    public async Task ApplyAsync(Fault fault)
    {
        var node = fault.Node;
        var began = NemesisHistory.NowNs();
        var note = "";
        switch (fault.Kind)
        {
            case FaultKind.CrashHost:
                history.HostKilled(node, NemesisHistory.NowNs());
                cluster.Kill(node, withWorkers: true);
                await DuringAsync(fault, node);
                await cluster.StartNodeAsync(node);
                break;
            case FaultKind.CrashNode:
                cluster.Kill(node, withWorkers: false);
                await DuringAsync(fault, node);
                await cluster.StartNodeAsync(node);
                break;
            case FaultKind.StallNode:
                cluster.Signal(node, "STOP");
                await DuringAsync(fault, node);
                cluster.Signal(node, "CONT");
                note = await RestartIfDownedAsync(node);
                break;
            case FaultKind.Partition:
                cluster.Isolate(node);
                await DuringAsync(fault, node);
                cluster.Heal(node);
                note = await RestartIfDownedAsync(node);
                break;
            case FaultKind.CrashDuringMigration:
                (node, note) = await CrashDuringMigrationAsync(fault);
                break;
            case FaultKind.AsymmetricPartition:
                cluster.DropFrom(node, fault.Peer);
                await DuringAsync(fault, node);
                cluster.Unfilter(node);
                note = $"(dropped what came from host {fault.Peer})";
                break;
            case FaultKind.FlappingPartition:
                var during = DuringAsync(fault, node);
                var downs = await FlapAsync(fault);
                await during;
                note = $"(link down {downs} times)";
                break;
            case FaultKind.PacketLoss:
                cluster.Lose(node, fault.Detail);
                await DuringAsync(fault, node);
                cluster.Unfilter(node);
                note = $"({fault.Detail} % of packets dropped both ways)";
                break;
            case FaultKind.Latency:
                var relays = cluster.AddLatency(node, fault.Peer, TimeSpan.FromMilliseconds(fault.Detail));
                try { await DuringAsync(fault, -1); }
                finally { cluster.RemoveLatency(node, fault.Peer, relays); }
                note = $"(+{fault.Detail} ms each way between hosts {node} and {fault.Peer}; {string.Join(" + ", relays.Select(r => r.Connections))} connections relayed)";
                break;
            case FaultKind.ImageDiskFull:
                note = cluster.Images.Fill();
                await DuringAsync(fault, -1);
                var full = await DiskVmStatesAsync();
                cluster.Images.Free();
                note = $"{note[..^1]}; the disk VMs then: {full})" + await RestartDiskVmsAsync();
                break;
            case FaultKind.JournalOutage:
                note = cluster.Journal.Stop();
                await DuringAsync(fault, -1);
                cluster.Journal.Start();
                break;
        }
        history.Applied(new AppliedFault(fault.Kind, node, began, NemesisHistory.NowNs(), note));
        var healed = NemesisHistory.NowNs();
        await WholeAsync();
        if (NemesisHistory.NowNs() - healed > 10_000_000_000L)
            history.Noted(NemesisHistory.NowNs(), $"every host back in the cluster {(NemesisHistory.NowNs() - healed) / 1e9:0} s after the {fault.Kind} was healed " +
                                                  $"({string.Join(", ", Enumerable.Range(0, NemesisSchedule.Hosts).Select(i => $"host {i} started {cluster.Starts(i)} times"))})");
    }

    /// <summary>The disk VMs' states and their consoles' last lines.</summary>
    private async Task<string> DiskVmStatesAsync()
    {
        var via = cluster.Via();
        var vms = await cluster.ListAsync(via);
        var states = new List<string>();
        foreach (var v in Enumerable.Range(schedule.Vms, schedule.DiskVms).Select(Vm))
            states.Add((vms is not null && vms.TryGetValue(v, out var s) ? $"{v} {s.Status} on {s.Host}" : $"{v} not listed") +
                       $", console '{await cluster.LastConsoleLineAsync(via, v)}'");
        return string.Join("; ", states);
    }

    /// <summary>Once the image directory has room again, a disk VM that stopped (its guest ends on an I/O error) is started
    /// again, as an operator would (recorded as a client operation).</summary>
    private async Task<string> RestartDiskVmsAsync()
    {
        var started = new List<string>();
        var vms = await cluster.ListAsync(cluster.Via());
        foreach (var v in Enumerable.Range(schedule.Vms, schedule.DiskVms))
            if (vms is not null && vms.TryGetValue(Vm(v), out var s) && s.Status is "Stopped" or "Crashed")
            {
                var at = NemesisHistory.NowNs();
                var r = await cluster.Ctl.Run(cluster.Via(), "start", Vm(v));
                history.Issued(new IssuedOp(at, OpKind.Start, Vm(v), null, r.ExitCode == 0, Short(r)));
                started.Add($"{Vm(v)} ({(r.ExitCode == 0 ? "acked" : "refused")})");
            }
        return started.Count == 0 ? "" : $" (started again: {string.Join(", ", started)})";
    }

    /// <summary>The client's operations while a fault holds (through the other hosts), and the rest of the hold.</summary>
    private async Task DuringAsync(Fault fault, int hit)
    {
        var until = DateTime.UtcNow + fault.Hold;
        await IssueAllAsync(fault.During, avoid: hit);
        if (until > DateTime.UtcNow)
            await Task.Delay(until - DateTime.UtcNow);
    }

    /// <summary>The node's link down and up every 0.5-2 s (drawn from the fault's detail) for the hold; left up. Returns how
    /// many times it went down.</summary>
    private async Task<int> FlapAsync(Fault fault)
    {
        var random = new Random(fault.Detail);
        var until = DateTime.UtcNow + fault.Hold;
        var downs = 0;
        while (DateTime.UtcNow < until)
        {
            cluster.Isolate(fault.Node);
            downs++;
            await Task.Delay(random.Next(500, 2001));
            cluster.Heal(fault.Node);
            await Task.Delay(random.Next(500, 2001));
        }
        return downs;
    }

    /// <summary>A node the cluster downed while it was stalled or cut off ends itself: it is started again.</summary>
    private async Task<string> RestartIfDownedAsync(int node)
    {
        if (!await cluster.ExitedWithinAsync(node, 20))
            return "(stayed a member)";
        await cluster.StartNodeAsync(node);
        return "(downed, started again)";
    }

    private async Task<(int Node, string Note)> CrashDuringMigrationAsync(Fault fault)
    {
        var via = cluster.Via();
        var vms = await cluster.ListAsync(via);
        var running = vms?.Where(v => v.Value.Status == "Running" && v.Value.Host >= 0).OrderBy(v => v.Key, StringComparer.Ordinal).ToList() ?? [];
        if (running.Count == 0)
            return (fault.Node, "(no running VM to migrate)");
        var (id, (source, _)) = running[fault.Node % running.Count];
        var target = Enumerable.Range(0, NemesisSchedule.Hosts).First(h => h != source && cluster.Running(h));
        var hit = fault.HitsTarget ? target : source;
        var client = hit == via ? cluster.Via(hit) : via;
        var at = NemesisHistory.NowNs();
        var migrating = cluster.Ctl.Run(client, "migrate", id, "--to", cluster.Host(target), "--wait");
        await Task.Delay(fault.Hold);
        history.HostKilled(hit, NemesisHistory.NowNs());
        cluster.Kill(hit, withWorkers: true);
        var r = await migrating;
        history.Issued(new IssuedOp(at, OpKind.Migrate, id, cluster.Host(target), r.ExitCode == 0, Short(r)));
        await Task.Delay(2000);
        await cluster.StartNodeAsync(hit);
        return (hit, $"(migrating {id} from {source} to {target}, crashed the {(fault.HitsTarget ? "target" : "source")} after {fault.Hold.TotalMilliseconds:0} ms)");
    }

    /// <summary>Waits until every host runs and sees the three; a node that ended meanwhile (the cluster downed it, perhaps
    /// only once the fault was healed) is started again. When the cluster downed every host, those started again while the
    /// others were still ending find no cluster to join: once no host has listed any member for <see cref="NoClusterFor"/>,
    /// every node is killed and the cluster started afresh (host 0 first), as at the beginning.</summary>
    private async Task WholeAsync()
    {
        var formed = DateTime.UtcNow;
        await ClusterVmctl.Eventually(async () =>
        {
            for (var i = 0; i < NemesisSchedule.Hosts; i++)
                if (!cluster.Running(i))
                    await cluster.StartNodeAsync(i);
            var members = new int[NemesisSchedule.Hosts];
            for (var i = 0; i < NemesisSchedule.Hosts; i++)
                members[i] = await cluster.MembersAsync(i);
            if (members.All(m => m == NemesisSchedule.Hosts))
                return true;
            if (members.Any(m => m > 0))
                formed = DateTime.UtcNow;
            else if (DateTime.UtcNow - formed > NoClusterFor)
            {
                output.WriteLine("no host is in a cluster (the cluster downed them all): the cluster is started afresh");
                history.Noted(NemesisHistory.NowNs(), $"no host in a cluster for {NoClusterFor.TotalSeconds:0} s (the cluster downed them all): every node killed and the cluster started afresh");
                for (var i = 0; i < NemesisSchedule.Hosts; i++)
                {
                    history.HostKilled(i, NemesisHistory.NowNs());
                    cluster.Kill(i, withWorkers: true);
                }
                await cluster.StartAllAsync();
                formed = DateTime.UtcNow;
            }
            return false;
        }, "every host back in the cluster", 240);
    }

    private static readonly TimeSpan NoClusterFor = TimeSpan.FromSeconds(30);

    /// <summary>The quiet end: the cluster whole, and the VMs' states unchanged for a few seconds (none migrating or starting).</summary>
    public async Task QuiesceAsync()
    {
        await WholeAsync();
        Dictionary<string, (int Host, string Status)>? last = null;
        await ClusterVmctl.Eventually(async () =>
        {
            var now = await cluster.ListAsync(cluster.Via());
            var settled = now is not null && now.Values.All(v => v.Status is "Running" or "Stopped" or "Crashed" or "Defined")
                          && last is not null && now.Count == last.Count && now.All(kv => last.TryGetValue(kv.Key, out var was) && was == kv.Value);
            last = now;
            if (!settled)
                await Task.Delay(2500);
            return settled;
        }, "the VMs to settle", 180);
    }

    /// <summary>The checks of the whole history; returns the violations and the acknowledged operations that were lost.</summary>
    public async Task<(List<string> Violations, List<string> LostAcks)> CheckAsync()
    {
        var runs = history.Runs([.. Enumerable.Range(0, NemesisSchedule.Hosts).Select(cluster.WorkerRunLog)]);
        var violations = NemesisHistory.Overlaps(runs);
        var lost = new List<string>();
        var via = cluster.Via();
        var vms = await cluster.ListAsync(via) ?? throw new InvalidOperationException("no host lists the VMs at the end");
        foreach (var v in Enumerable.Range(0, schedule.Vms + schedule.DiskVms).Select(Vm))
        {
            if (!vms.TryGetValue(v, out var state))
            {
                if (history.Ops.Any(o => o.Vm == v && o.Kind == OpKind.Create && o.Acked))
                    lost.Add($"{v}: created (acknowledged) but not listed at the end");
                continue;
            }
            var events = await cluster.EventsAsync(via, v);
            violations.AddRange(NemesisHistory.EpochRegressions(v, events));
            violations.AddRange(NemesisHistory.CounterRegressions(v, counters.Samples, events));
            violations.AddRange(NemesisHistory.InconsistentPages(v, counters.AbBad));
            lost.AddRange(history.LostAcks(v, events, to => to ?? ""));
            var open = runs.Where(r => r.Vm == v && r.End == long.MaxValue).ToList();
            if (state.Status == "Running" && (open.Count != 1 || open[0].Host != state.Host))
                violations.Add($"{v} is Running on host {state.Host} at the end, but runs in {open.Count} worker(s): {string.Join(", ", open)}");
            if (state.Status != "Running" && open.Count != 0)
                violations.Add($"{v} is {state.Status} at the end, but a worker still runs it: {string.Join(", ", open)}");
        }
        output.WriteLine($"{runs.Count} worker runs, {counters.Samples.Count} counter readings ({counters.AbBad.Count} with a-b pages inconsistent), {history.Ops.Count} operations ({history.Ops.Count(o => o.Acked)} acknowledged), " +
                         $"{history.Faults.Count} faults; at the end: {string.Join(", ", vms.Select(kv => $"{kv.Key} {kv.Value.Status} on {kv.Value.Host}"))}");
        return (violations, lost);
    }

    private static string Short(ProcessResult r)
    {
        var text = OneLine().Replace($"-> {r.ExitCode}: {r.Stdout.Trim()} {r.Stderr.Trim()}", " ");
        return text.Length <= 200 ? text : text[..200];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex OneLine();
}
