using System.Text;
using Cluster.Contracts.Access;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
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
            case AccessDenied d:
                if (printer.Structured) printer.WriteData(new DeniedOutput(nameof(AccessDenied), d.Reason.ToString(), d.Message));
                stderr.WriteLine($"vmctl: access denied ({(d.Reason == Denial.Forbidden ? "forbidden" : "unauthenticated")}): {d.Message}");
                return ExitCodes.Denied;
            case TokenNotFound t:
                return Refused(printer, stderr, reply, $"no token '{t.Id}'");
            case TokenCreated t:
                if (printer.Structured) printer.WriteData(new NewTokenOutput(t.Info.Id, t.Info.Name, t.Info.Role, t.Info.ExpiresAt, t.Token));
                else
                {
                    stderr.WriteLine($"token {t.Info.Id} ({t.Info.Role.ToString().ToLowerInvariant()}, '{t.Info.Name}'), expires {Printer.Time(t.Info.ExpiresAt!.Value)}; shown this once:");
                    printer.Line(t.Token);
                }
                return ExitCodes.Ok;
            case TokenList tokens:
                if (printer.Structured) printer.WriteData(tokens.Tokens);
                else printer.Table(["ID", "NAME", "ROLE", "CREATED", "EXPIRES", "STATE"], tokens.Tokens.Select(t => (IReadOnlyList<string>)
                    [t.Id, t.Name, t.Role.ToString().ToLowerInvariant(), Printer.Time(t.CreatedAt), t.ExpiresAt is { } e ? Printer.Time(e) : "never",
                     t.RevokedAt is { } r ? $"revoked {Printer.Time(r)}" : t.ExpiresAt <= DateTime.UtcNow ? "expired" : "active"]));
                return ExitCodes.Ok;
            case TokenRevocation r:
                if (printer.Structured) printer.WriteData(r);
                else printer.Line($"token {r.Id}: revoked at {Printer.Time(r.RevokedAt)}; no node accepts it any more");
                return ExitCodes.Ok;
            case AuditList audit:
                if (printer.Structured) printer.WriteData(audit.Records);
                else printer.Table(["TIME", "TOKEN", "NAME", "ROLE", "COMMAND", "TARGET", "NODE"], audit.Records.Select(a => (IReadOnlyList<string>)
                    [Printer.Time(a.At), a.TokenId, a.TokenName, a.Role.ToString().ToLowerInvariant(), a.Command, a.Target, a.Node]));
                return ExitCodes.Ok;
            case NetworkNotFound n:
                return Refused(printer, stderr, reply, $"no network '{n.Name}'");
            case NetworkRefused n:
                return Refused(printer, stderr, reply, $"network '{n.Name}' refused: {n.Reason}");
            case NetworkRemoved n:
                if (printer.Structured) printer.WriteData(n);
                else printer.Line($"network {n.Name}: deleted");
                return ExitCodes.Ok;
            case NetworkInfo n:
                if (printer.Structured) printer.WriteData(NetworkView.Of(n));
                else ShowNetwork(printer, n);
                return ExitCodes.Ok;
            case NetworkList networks:
                if (printer.Structured) printer.WriteData(networks.Networks.Select(NetworkView.Of).ToList());
                else printer.Table(["NAME", "MODE", "SUBNET", "BRIDGE", "MTU", "VNI", "ADDRESSES", .. (printer.Wide ? (string[])["VMS"] : [])],
                    networks.Networks.Select(NetworkView.Of).Select(n => (IReadOnlyList<string>)[n.Name, n.Mode, n.Subnet ?? "", n.Bridge ?? "",
                        $"{n.Mtu}", n.Vni == 0 ? "" : $"{n.Vni}", $"{n.Addresses.Count}",
                        .. (printer.Wide ? (string[])[string.Join(',', n.Addresses.Select(a => $"{a.VmId}={a.Ip ?? a.Mac}"))] : [])]));
                return ExitCodes.Ok;
            case HostNotFound h:
                return Refused(printer, stderr, reply, $"no host '{h.Host}'; members: {string.Join(", ", h.Known)}");
            case VmCreated c:
                if (printer.Structured) printer.WriteData(c);
                else printer.Line($"{c.VmId}: {c.Status} on {c.Host}");
                return ExitCodes.Ok;
            case HostLeaving l:
                if (printer.Structured) printer.WriteData(l);
                else printer.Line($"{l.Host}: leaving; its VMs restart on other hosts");
                return ExitCodes.Ok;
            case HostList hosts:
                if (printer.Structured) printer.WriteData(hosts.Hosts.Select(HostView.Of).ToList());
                else printer.Table(["HOST", "VCPUS", "MEMORY", "VMS", "RUNNING", "USED-VCPUS", "USED-MEMORY", "LOAD", "CPU", "LABELS",
                        .. (printer.Wide ? (string[])["MEMORY-IN-USE", "VM-IDS"] : [])],
                    hosts.Hosts.Select(HostView.Of).Select(h => (IReadOnlyList<string>)
                        [h.Host, $"{h.Vcpus}", Printer.Size(h.MemoryBytes), $"{h.Vms}", $"{h.RunningVms}", $"{h.UsedVcpus}",
                         Printer.Size(h.UsedMemoryBytes), $"{h.Load:0.00}", h.CpuVendor, string.Join(',', h.Labels.Select(l => $"{l.Key}={l.Value}")),
                         .. (printer.Wide ? (string[])[Human.Bytes(h.MemoryInUseBytes), string.Join(',', h.VmIds)] : [])]));
                return ExitCodes.Ok;
            case VmCommandAccepted a:
                if (printer.Structured) printer.WriteData(a);
                else printer.Line($"{a.VmId}: {a.Status}");
                return ExitCodes.Ok;
            case VmInfo info:
                if (printer.Structured) printer.WriteData(VmView.Of(info));
                else Show(printer, VmView.Of(info));
                return ExitCodes.Ok;
            case VmList list:
                if (printer.Structured) printer.WriteData(list.Vms.Select(VmView.Of).ToList());
                else if (printer.Wide) printer.Table(["ID", "NAME", "STATUS", "HOST", "VCPUS", "MEMORY", "IMAGE", "RESTARTS", "SINCE", "RESTART",
                        "LABELS", "ANTI-AFFINITY", "DISKS", "NICS", "ARGS", "REASON"],
                    list.Vms.Select(VmView.Of).Select(v => (IReadOnlyList<string>)
                        [v.Id, v.Name, v.Status, v.Node, $"{v.Vcpus}", Printer.Size(v.MemoryBytes), v.Image, $"{v.Restarts}", Printer.Time(v.Since),
                         $"{v.RestartPolicy}/{v.MaxRestarts}", string.Join(',', v.Labels.Select(l => $"{l.Key}={l.Value}")), v.AntiAffinityGroup ?? "",
                         string.Join(' ', v.Disks.Select(d => d.Path)), string.Join(' ', v.Nics.Select(n => $"{n.Network}/{n.Ip ?? n.Mac ?? "-"}")),
                         string.Join(' ', v.Args), v.Reason]));
                else printer.Table(["ID", "NAME", "STATUS", "HOST", "VCPUS", "MEMORY", "IMAGE", "RESTARTS", "SINCE", "REASON"],
                    list.Vms.Select(VmView.Of).Select(v => (IReadOnlyList<string>)
                        [v.Id, v.Name, v.Status, v.Node, $"{v.Vcpus}", Printer.Size(v.MemoryBytes), v.Image, $"{v.Restarts}", Printer.Time(v.Since), v.Reason]));
                return ExitCodes.Ok;
            case VmEventList events:
                if (printer.Structured) printer.WriteData(events.Events.Select(EventView.Of).ToList());
                else EventsText.Write(printer, events);
                return ExitCodes.Ok;
            case MigrationAccepted m:
                if (printer.Structured) printer.WriteData(m);
                else printer.Line($"{m.VmId}: migrating {m.SourceHost} -> {m.TargetHost} (migration {m.MigrationId})");
                return ExitCodes.Ok;
            case MigrationCancelling c:
                if (printer.Structured) printer.WriteData(c);
                else printer.Line($"{c.VmId}: cancelling migration {c.MigrationId}; it stays on its source host");
                return ExitCodes.Ok;
            case MigrationList migrations:
                if (printer.Structured) printer.WriteData(migrations.Migrations.Select(MigrationView.Of).ToList());
                else printer.Raw(Live.MigrationsWatch.Table(migrations, printer.NoHeaders));
                return ExitCodes.Ok;
            case DrainStarted d:
                if (printer.Structured) printer.WriteData(d);
                else printer.Line(d.Vms.Count == 0 ? $"{d.Host}: draining; no VM to move"
                    : $"{d.Host}: draining; {d.Vms.Count} VM{(d.Vms.Count == 1 ? "" : "s")} will move: {string.Join(", ", d.Vms)}");
                return ExitCodes.Ok;
            case HostUndrained u:
                if (printer.Structured) printer.WriteData(u);
                else printer.Line($"{u.Host}: takes new VMs again");
                return ExitCodes.Ok;
            case RebalanceStatus r:
                if (printer.Structured) printer.WriteData(r);
                else RebalanceText.Write(printer, r, DateTime.UtcNow);
                return ExitCodes.Ok;
            case ConsoleOutput output:
                if (printer.Structured) printer.WriteData(new ConsoleText(output.VmId, Encoding.UTF8.GetString(output.Data)));
                else printer.Raw(Encoding.UTF8.GetString(output.Data));
                return ExitCodes.Ok;
            default:
                stderr.WriteLine($"vmctl: unexpected reply {reply}");
                return ExitCodes.Unexpected;
        }
    }

    private static int Refused(Printer printer, TextWriter stderr, object reply, string message)
    {
        if (printer.Structured) printer.WriteData(new ErrorOutput(reply.GetType().Name, message));
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
            .. v.Nics.Select((n, i) => (IReadOnlyList<string>)[$"nic{i}", $"network={n.Network} mac={n.Mac} ip={n.Ip ?? "-"}"]),
        ]);
    }

    private static void ShowNetwork(Printer printer, NetworkInfo info)
    {
        var n = NetworkView.Of(info);
        printer.Table(["FIELD", "VALUE"],
        [
            ["name", n.Name], ["mode", n.Mode], ["subnet", n.Subnet ?? ""], ["bridge", n.Bridge ?? ""], ["mtu", $"{n.Mtu}"],
            ["vni", n.Vni == 0 ? "" : $"{n.Vni}"],
            .. n.Addresses.Select(a => (IReadOnlyList<string>)["address", $"{a.VmId} {a.Mac} {a.Ip ?? "-"}"]),
        ]);
    }
}
