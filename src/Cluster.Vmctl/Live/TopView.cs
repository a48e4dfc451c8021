using System.Globalization;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Live;

/// <summary>
/// <c>vmctl top</c> (alias <c>watch</c>): a live view of the cluster over one client connection, redrawn
/// every refresh: the rebalancer's mode and imbalance, each host with a load bar, its vCPU and memory use
/// and draining flag, the VMs on it (CPU load; memory its worker holds / its size where the host measures it from the
/// worker's cgroup, else its size), and the migrations in flight with progress bars.
/// </summary>
public static class TopView
{
    public static async Task<int> RunAsync(
        IControlClient client, string node, Printer printer, LiveOptions options, Func<DateTime> clock, CancellationToken cancel)
    {
        var screen = new Screen(printer.Output, options.Ansi && !options.Once && !printer.Structured, fullScreen: true);
        var code = await LiveLoop.RunAsync(async () =>
        {
            var snapshot = await ClusterSnapshot.TakeAsync(client, clock());
            if (printer.Structured)
                printer.WriteData(Json(snapshot));
            else
                screen.Draw(Render(snapshot, node, options));
            return null;
        }, options, cancel);
        screen.End();
        return code;
    }

    /// <summary>The snapshot as --json prints it.</summary>
    public static TopOutput Json(ClusterSnapshot s) => new(
        s.At,
        s.Hosts?.Hosts.Select(HostView.Of).ToList(),
        s.Vms?.Vms.Select(VmView.Of).ToList(),
        s.Migrations?.Migrations.Select(MigrationView.Of).ToList(),
        s.Rebalance,
        s.Errors);

    /// <summary>One frame as text.</summary>
    public static string Render(ClusterSnapshot s, string node, LiveOptions options)
    {
        var text = new StringWriter();
        var printer = new Printer(text, json: false);
        printer.Line(options.Once
            ? $"vmctl top  {node}  {Printer.Time(s.At)}"
            : $"vmctl top  {node}  {Printer.Time(s.At)}  (every {options.Interval.TotalSeconds:0.#} s, Ctrl-C quits)");
        printer.Line(s.Rebalance is { } r ? RebalanceText.Summary(r, s.At) : "rebalancer: not answering");
        printer.Line("");
        Hosts(printer, s);
        printer.Line("");
        var moving = s.Migrations?.Migrations.Where(m => m.InProgress).Select(MigrationView.Of).ToList();
        if (moving is null)
            printer.Line("migrations: not answering");
        else if (moving.Count == 0)
            printer.Line("migrations in flight: none");
        else
        {
            printer.Line($"migrations in flight: {moving.Count}");
            printer.Table(MigrationView.Headers.Take(10).ToList(), moving.Select(m => m.Row().Take(10).ToList()));
        }
        foreach (var error in s.Errors)
            printer.Line($"! {error}");
        return text.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private static void Hosts(Printer printer, ClusterSnapshot s)
    {
        if (s.Hosts is null && s.Vms is null)
        {
            printer.Line("hosts and VMs: not answering");
            return;
        }
        var vms = s.Vms?.Vms.ToDictionary(v => v.VmId) ?? [];
        var migrating = s.Migrations?.Migrations.Where(m => m.InProgress).ToDictionary(m => m.VmId, MigrationView.Of) ?? [];
        var rows = new List<IReadOnlyList<string>>();
        var placed = new HashSet<string>();
        foreach (var h in s.Hosts?.Hosts ?? [])
        {
            var balance = s.Rebalance?.Hosts.FirstOrDefault(b => b.Host == h.Host);
            var load = balance?.Load ?? (h.Vcpus == 0 ? 0 : h.GuestCpuSeconds / h.Vcpus);
            var view = HostView.Of(h);
            rows.Add([h.Host, $"{Human.Bar(load, 16)} {Human.Percent(load),4}", F(h.GuestCpuSeconds), $"{view.UsedVcpus}/{h.Vcpus}",
                $"{Human.Bytes(view.UsedMemoryBytes)}/{Human.Bytes(h.MemoryBytes)}", balance?.Draining == true ? "DRAINING" : ""]);
            foreach (var vm in h.Vms.OrderBy(v => v.VmId, StringComparer.Ordinal))
            {
                placed.Add(vm.VmId);
                rows.Add(VmRow(vm.VmId, vms.GetValueOrDefault(vm.VmId), vm.CpuLoad, vm.Vcpus, Memory(vm), migrating, balance));
            }
        }
        var unlisted = vms.Values.Where(v => !placed.Contains(v.VmId))
            .GroupBy(v => v.Node is { Length: > 0 } node ? $"{node} (no host figures)" : "(no host)").OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in unlisted)
        {
            rows.Add([group.Key, "", "", "", "", ""]);
            rows.AddRange(group.OrderBy(v => v.VmId, StringComparer.Ordinal)
                .Select(v => VmRow(v.VmId, v, 0, v.Spec.Vcpus, Human.Bytes(v.Spec.MemoryBytes), migrating, null)));
        }
        printer.Table(["HOST / VM", "LOAD / STATUS", "CPU", "VCPUS", "MEMORY", "NOTE"], rows);
    }

    private static IReadOnlyList<string> VmRow(
        string id, VmInfo? info, double cpu, int vcpus, string memory, IReadOnlyDictionary<string, MigrationView> migrating, Contracts.Rebalancing.RebalanceHost? host)
    {
        var note = migrating.TryGetValue(id, out var m) ? $"-> {m.Target} {m.ProgressBar}"
            : host?.Stuck.TryGetValue(id, out var why) == true ? $"FITS NOWHERE: {why}" : "";
        return [$"  {id}", info?.Status.ToString() ?? "?", F(cpu), $"{vcpus}", memory, note];
    }

    /// <summary>A VM's memory: what its worker holds (from its cgroup) over its size, or its size where that is not measured.</summary>
    private static string Memory(PlacedVm vm) =>
        vm.MemoryUsedBytes is { } used ? $"{Human.Bytes(used)}/{Human.Bytes(vm.MemoryBytes)}" : Human.Bytes(vm.MemoryBytes);

    private static string F(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
}
