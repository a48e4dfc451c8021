using System.Text;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli;

/// <summary>Prints a node's reply and maps it to an exit code.</summary>
public static class Replies
{
    public static int Print(object reply, Printer printer, TextWriter stderr)
    {
        switch (reply)
        {
            case NotAllowed n:
                return Refused(printer, stderr, reply, $"not allowed: {n.Reason}");
            case VmNotFound nf:
                return Refused(printer, stderr, reply, $"no VM '{nf.VmId}'");
            case ValidationFailed v:
                return Refused(printer, stderr, reply, $"invalid {v.Field}: {v.Message}");
            case PlacementRefused p:
                return Refused(printer, stderr, reply, $"cannot place {p.VmId}: not enough {p.Resource}: {p.Message}");
            case HostNotFound h:
                return Refused(printer, stderr, reply, $"no host '{h.Host}'; members: {string.Join(", ", h.Known)}");
            case VmCreated c:
                if (printer.Json) printer.WriteJson(c);
                else printer.Line($"{c.VmId}: {c.Status} on {c.Host}");
                return ExitCodes.Ok;
            case HostLeaving l:
                if (printer.Json) printer.WriteJson(l);
                else printer.Line($"{l.Host}: leaving; its VMs restart on other hosts");
                return ExitCodes.Ok;
            case HostList hosts:
                if (printer.Json) printer.WriteJson(hosts.Hosts.Select(HostView.Of).ToList());
                else printer.Table(["HOST", "VCPUS", "MEMORY", "VMS", "RUNNING", "USED-VCPUS", "USED-MEMORY", "LOAD", "CPU", "LABELS"],
                    hosts.Hosts.Select(HostView.Of).Select(h => (IReadOnlyList<string>)
                        [h.Host, $"{h.Vcpus}", Printer.Size(h.MemoryBytes), $"{h.Vms}", $"{h.RunningVms}", $"{h.UsedVcpus}",
                         Printer.Size(h.UsedMemoryBytes), $"{h.Load:0.00}", h.CpuVendor, string.Join(',', h.Labels.Select(l => $"{l.Key}={l.Value}"))]));
                return ExitCodes.Ok;
            case VmCommandAccepted a:
                if (printer.Json) printer.WriteJson(a);
                else printer.Line($"{a.VmId}: {a.Status}");
                return ExitCodes.Ok;
            case VmInfo info:
                if (printer.Json) printer.WriteJson(VmView.Of(info));
                else Show(printer, VmView.Of(info));
                return ExitCodes.Ok;
            case VmList list:
                if (printer.Json) printer.WriteJson(list.Vms.Select(VmView.Of).ToList());
                else printer.Table(["ID", "NAME", "STATUS", "HOST", "VCPUS", "MEMORY", "IMAGE", "RESTARTS", "SINCE", "REASON"],
                    list.Vms.Select(VmView.Of).Select(v => (IReadOnlyList<string>)
                        [v.Id, v.Name, v.Status, v.Node, $"{v.Vcpus}", Printer.Size(v.MemoryBytes), v.Image, $"{v.Restarts}", Printer.Time(v.Since), v.Reason]));
                return ExitCodes.Ok;
            case VmEventList events:
                if (printer.Json) printer.WriteJson(events.Events.Select(EventView.Of).ToList());
                else EventsText.Write(printer, events);
                return ExitCodes.Ok;
            case MigrationAccepted m:
                if (printer.Json) printer.WriteJson(m);
                else printer.Line($"{m.VmId}: migrating {m.SourceHost} -> {m.TargetHost} (migration {m.MigrationId})");
                return ExitCodes.Ok;
            case MigrationCancelling c:
                if (printer.Json) printer.WriteJson(c);
                else printer.Line($"{c.VmId}: cancelling migration {c.MigrationId}; it stays on its source host");
                return ExitCodes.Ok;
            case MigrationList migrations:
                if (printer.Json) printer.WriteJson(migrations.Migrations.Select(MigrationView.Of).ToList());
                else printer.Raw(Live.MigrationsWatch.Table(migrations));
                return ExitCodes.Ok;
            case DrainStarted d:
                if (printer.Json) printer.WriteJson(d);
                else printer.Line(d.Vms.Count == 0 ? $"{d.Host}: draining; no VM to move"
                    : $"{d.Host}: draining; {d.Vms.Count} VM{(d.Vms.Count == 1 ? "" : "s")} will move: {string.Join(", ", d.Vms)}");
                return ExitCodes.Ok;
            case HostUndrained u:
                if (printer.Json) printer.WriteJson(u);
                else printer.Line($"{u.Host}: takes new VMs again");
                return ExitCodes.Ok;
            case RebalanceStatus r:
                if (printer.Json) printer.WriteJson(r);
                else RebalanceText.Write(printer, r, DateTime.UtcNow);
                return ExitCodes.Ok;
            case ConsoleOutput output:
                if (printer.Json) printer.WriteJson(new { output.VmId, Text = Encoding.UTF8.GetString(output.Data) });
                else printer.Raw(Encoding.UTF8.GetString(output.Data));
                return ExitCodes.Ok;
            default:
                stderr.WriteLine($"vmctl: unexpected reply {reply}");
                return ExitCodes.Unexpected;
        }
    }

    private static int Refused(Printer printer, TextWriter stderr, object reply, string message)
    {
        if (printer.Json) printer.WriteJson(new { error = reply.GetType().Name, message });
        stderr.WriteLine($"vmctl: {message}");
        return ExitCodes.Refused;
    }

    private static void Show(Printer printer, VmView v)
    {
        printer.Table(["FIELD", "VALUE"],
        [
            ["id", v.Id], ["name", v.Name], ["status", v.Status], ["since", Printer.Time(v.Since)], ["reason", v.Reason],
            ["vcpus", $"{v.Vcpus}"], ["memory", Printer.Size(v.MemoryBytes)], ["image", v.Image], ["args", string.Join(' ', v.Args)],
            ["labels", string.Join(',', v.Labels.Select(l => $"{l.Key}={l.Value}"))], ["anti-affinity", v.AntiAffinityGroup ?? ""],
            ["restart", $"{v.RestartPolicy} (max {v.MaxRestarts}, done {v.Restarts})"], ["node", v.Node],
            .. v.Disks.Select((d, i) => (IReadOnlyList<string>)[$"disk{i}", d.Identity is null ? d.Text : $"{d.Text} (identity {d.Identity})"]),
        ]);
    }
}
