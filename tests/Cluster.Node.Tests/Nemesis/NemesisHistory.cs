using System.Globalization;
using Cluster.Actors.Clustering;
using Cluster.Contracts.Events;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>One client operation as issued: when (monotonic ns), what, and whether the cluster acknowledged it.</summary>
public sealed record IssuedOp(long AtNs, OpKind Kind, string Vm, string? To, bool Acked, string Output);

/// <summary>One fault as applied: when it began and was healed (monotonic ns), and the host it hit.</summary>
public sealed record AppliedFault(FaultKind Kind, int Host, long BeganNs, long HealedNs, string Note);

/// <summary>One run of a VM's vCPUs in one VMM worker, from the workers' run logs (<c>VM start|end NS EPOCH PID</c>).</summary>
public sealed record WorkerRun(string Vm, int Host, int Pid, long Epoch, long Start, long End);

/// <summary>
/// What a nemesis run did and saw, and the checks of its whole history: no VM ever ran in two workers at once (the
/// workers' own run logs, which hold while their node is stopped, killed or cut off), epochs only grow, every acknowledged
/// operation has its event, every VM still exists and a running VM runs in exactly one worker, on the host the cluster names.
/// </summary>
public sealed class NemesisHistory
{
    private readonly List<IssuedOp> _ops = [];
    private readonly List<AppliedFault> _faults = [];
    private readonly List<(int Host, long AtNs)> _hostKills = [];
    private readonly List<(long AtNs, string Text)> _notes = [];

    /// <summary>Nanoseconds of the monotonic clock, as the run logs write them.</summary>
    public static long NowNs() => RunLog.NowNs();

    public IReadOnlyList<IssuedOp> Ops => _ops;

    public IReadOnlyList<AppliedFault> Faults => _faults;

    public void Issued(IssuedOp op)
    {
        lock (_ops) _ops.Add(op);
    }

    public void Applied(AppliedFault fault)
    {
        lock (_faults) _faults.Add(fault);
    }

    /// <summary>Something the harness did besides the schedule's faults (for the history's text).</summary>
    public void Noted(long atNs, string text)
    {
        lock (_notes) _notes.Add((atNs, text));
    }

    /// <summary>Host <paramref name="host"/>'s node and workers were killed at <paramref name="atNs"/>: runs left open there end then.</summary>
    public void HostKilled(int host, long atNs)
    {
        lock (_hostKills) _hostKills.Add((host, atNs));
    }

    /// <summary>The runs of every worker log (<paramref name="logs"/>[host]); a run left open ends at the first kill of its
    /// host's workers after it began, or never when its worker still lives.</summary>
    public List<WorkerRun> Runs(IReadOnlyList<string> logs)
    {
        var runs = new List<WorkerRun>();
        for (var host = 0; host < logs.Count; host++)
        {
            if (!File.Exists(logs[host]))
                continue;
            var open = new Dictionary<(string Vm, int Pid), (long Start, long Epoch)>();
            foreach (var line in File.ReadAllLines(logs[host]))
            {
                var p = line.Split(' ');
                if (p.Length < 5)
                    continue;
                var (vm, what, ns, epoch, pid) = (p[0], p[1], long.Parse(p[2], CultureInfo.InvariantCulture),
                    long.Parse(p[3], CultureInfo.InvariantCulture), int.Parse(p[4], CultureInfo.InvariantCulture));
                if (what == "start")
                    open.TryAdd((vm, pid), (ns, epoch));
                else if (open.Remove((vm, pid), out var started))
                    runs.Add(new WorkerRun(vm, host, pid, started.Epoch, started.Start, ns));
            }
            foreach (var ((vm, pid), (start, epoch)) in open)
            {
                var killed = _hostKills.Where(k => k.Host == host && k.AtNs > start).Select(k => k.AtNs).DefaultIfEmpty(long.MaxValue).Min();
                runs.Add(new WorkerRun(vm, host, pid, epoch, start, Alive(pid) ? long.MaxValue : killed));
            }
        }
        return runs;
    }

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>Pairs of runs of one VM in two workers that overlap in time.</summary>
    public static List<string> Overlaps(IReadOnlyList<WorkerRun> runs)
    {
        var found = new List<string>();
        foreach (var group in runs.GroupBy(r => r.Vm))
        {
            var list = group.OrderBy(r => r.Start).ToList();
            for (var i = 0; i < list.Count; i++)
                for (var j = i + 1; j < list.Count && list[j].Start < list[i].End; j++)
                    if ((list[i].Host, list[i].Pid) != (list[j].Host, list[j].Pid))
                        found.Add($"{group.Key} ran in two workers at once: {list[i]} and {list[j]}");
        }
        return found;
    }

    /// <summary>Epochs in a VM's events (ownership claims and migrations), in journal order, that do not grow.</summary>
    public static List<string> EpochRegressions(string vm, IReadOnlyList<VmEvent> events)
    {
        var found = new List<string>();
        long last = 0;
        foreach (var e in events)
        {
            var epoch = e switch { VmOwnerClaimed c => c.Epoch, VmMigrated m => m.Epoch, _ => 0 };
            if (epoch == 0)
                continue;
            if (epoch <= last)
                found.Add($"{vm}: epoch {epoch} ({e.GetType().Name} at {e.At:O}) after epoch {last}");
            last = epoch;
        }
        return found;
    }

    /// <summary>How long before the earlier of two readings a boot may have been journalled and still explain a counter that went
    /// back (the reading answers with the console as it was when the console actor read it, a little before the test saw it).</summary>
    private static readonly TimeSpan BootSlack = TimeSpan.FromSeconds(3);

    /// <summary>Readings of <paramref name="vm"/>'s counter that went back with no boot between them: a boot is a cold start that
    /// the journal records (<see cref="VmStarted"/>, <see cref="VmRestarted"/>, or a new owner's <see cref="VmOwnerClaimed"/>,
    /// which boots the guest where it claims it) between the two readings (from <see cref="BootSlack"/> before the first).</summary>
    public static List<string> CounterRegressions(string vm, IReadOnlyList<CounterSample> samples, IReadOnlyList<VmEvent> events)
    {
        var boots = events.Where(e => e is VmStarted or VmRestarted or VmOwnerClaimed).Select(e => e.At).ToList();
        var found = new List<string>();
        var ordered = samples.Where(s => s.Vm == vm).OrderBy(s => s.At).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            var (a, b) = (ordered[i - 1], ordered[i]);
            if (b.Count < a.Count && !boots.Any(t => t >= a.At - BootSlack && t <= b.At))
                found.Add($"{vm}: the guest's counter went back from {a.Count} ({a.At:HH:mm:ss.fff} via host {a.Via}) to {b.Count} " +
                          $"({b.At:HH:mm:ss.fff} via host {b.Via}) with no boot between (boots at {string.Join(", ", boots.Select(t => t.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))})");
        }
        return found;
    }

    /// <summary>A-b pages: the a-b guest (<c>abcount</c>) keeps its counter in pages of different migration groups and checks
    /// them equal on every iteration; no reading of its console may ever show it found them inconsistent (a live migration
    /// that lost a page or carried an older copy of one). One violation per VM, with its first such reading and how many.</summary>
    public static List<string> InconsistentPages(string vm, IReadOnlyList<AbBadSample> readings)
    {
        var bad = readings.Where(r => r.Vm == vm).OrderBy(r => r.At).ToList();
        return bad.Count == 0
            ? []
            : [$"{vm}: the guest found its a-b pages inconsistent: '{bad[0].Line}' ({bad[0].At:HH:mm:ss.fff} via host {bad[0].Via}; {bad.Count} such reading(s))"];
    }

    /// <summary>Acknowledged operations on <paramref name="vm"/> whose event is missing from <paramref name="events"/>:
    /// a create without its definition, a migration without its commit to the host asked, more acknowledged stops or starts
    /// than the events record.</summary>
    public List<string> LostAcks(string vm, IReadOnlyList<VmEvent> events, Func<string?, string> hostOf)
    {
        List<IssuedOp> acked;
        lock (_ops) acked = [.. _ops.Where(o => o.Vm == vm && o.Acked)];
        var lost = new List<string>();
        if (acked.Any(o => o.Kind == OpKind.Create) && !events.OfType<VmDefined>().Any())
            lost.Add($"{vm}: created (acknowledged) but no VmDefined");
        foreach (var m in acked.Where(o => o.Kind == OpKind.Migrate))
            if (!events.OfType<VmMigrated>().Any(e => e.To == hostOf(m.To)))
                lost.Add($"{vm}: migration to {m.To} acknowledged but no VmMigrated to it");
        var stops = acked.Count(o => o.Kind == OpKind.Stop);
        if (stops > events.OfType<VmStopped>().Count())
            lost.Add($"{vm}: {stops} stops acknowledged, {events.OfType<VmStopped>().Count()} VmStopped");
        var starts = acked.Count(o => o.Kind is OpKind.Start or OpKind.Create);
        if (starts > events.OfType<VmStarted>().Count())
            lost.Add($"{vm}: {starts} starts acknowledged, {events.OfType<VmStarted>().Count()} VmStarted");
        return lost;
    }

    /// <summary>The history as text, for a failure message.</summary>
    public string Describe()
    {
        lock (_ops)
            lock (_faults)
                return string.Join('\n', _ops.Select(o => (o.AtNs, $"op {o.Kind} {o.Vm}{(o.To is null ? "" : $" -> {o.To}")}: {(o.Acked ? "acked" : "not acked")} {o.Output}"))
                    .Concat(_faults.Select(f => (f.BeganNs, $"fault {f.Kind} host {f.Host} for {(f.HealedNs - f.BeganNs) / 1e9:0.0} s {f.Note}")))
                    .Concat(_notes.Select(n => (n.AtNs, $"harness: {n.Text}")))
                    .OrderBy(x => x.Item1).Select(x => $"  {x.Item1 / 1e9:0.000} {x.Item2}"));
    }
}
