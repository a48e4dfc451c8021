using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>The commands on hosts and migrations: nodes, leave, migrate, migrations, drain, undrain, rebalance, top.</summary>
public static class ClusterVerbs
{
    private static Argument<string> Host() => Opt.Positional("HOST:PORT", "a host as 'vmctl nodes' lists it");

    public static IEnumerable<VerbCommand> All()
    {
        yield return new VerbCommand("nodes", "the cluster's hosts with capacity, allocations and load", "hosts")
            .Example("vmctl nodes", "vmctl hosts -o wide");
        yield return new VerbCommand("leave", "a host leaves the cluster gracefully; its VMs restart elsewhere").With(Host())
            .Example("vmctl leave 10.0.0.2:4053");
        yield return new VerbCommand("migrate", "move a running VM live to another host (or cancel its migration)")
            .With(Opt.Positional("ID", "the VM's id"))
            .With(
                Opt.Value("--to", "HOST:PORT", "the target host"),
                Opt.Value("--downtime-ms", "N", "the pause allowed at the switch-over (default 300)"),
                Opt.Value("--bandwidth", "B", "bytes per second (500K, 100M, 1G; default 0, no cap)"),
                Opt.Value("--mode", "MODE", "precopy, postcopy or auto (default auto)", "precopy", "postcopy", "auto"),
                Opt.Value("--connections", "N", "parallel connections (default 1)"),
                Opt.Flag("--wait", "show its progress until it ends (exit 5 if it failed)"),
                Opt.Flag("--cancel", "cancel the VM's migration; before the commit it stays on its source host"))
            .Example("vmctl migrate web-1 --to 10.0.0.2:4053 --wait", "vmctl migrate web-1 --to 10.0.0.2:4053 --bandwidth 100M --mode postcopy",
                "vmctl migrate --cancel web-1");
        yield return new VerbCommand("migrations", "migrations in flight and recently ended")
            .With(Opt.Flag("--watch", "redraw every second"))
            .Example("vmctl migrations", "vmctl migrations --watch");
        yield return new VerbCommand("drain", "move every VM off a host and take no new ones").With(Host())
            .With(Opt.Flag("--wait", "follow until the host is empty (exit 5 listing the VMs that fit nowhere)"))
            .Example("vmctl drain 10.0.0.2:4053 --wait");
        yield return new VerbCommand("undrain", "the host takes new VMs again").With(Host()).Example("vmctl undrain 10.0.0.2:4053");
        yield return new VerbCommand("rebalance", "the rebalancer: mode, imbalance against its threshold, host loads, plan, moves in flight")
            .With(new VerbCommand("mode", "set the rebalancer's mode")
                .With(Opt.Positional("MODE", "off, recommend or automatic", "off", "recommend", "automatic"))
                .Example("vmctl rebalance mode recommend"))
            .Example("vmctl rebalance", "vmctl rebalance mode automatic");
        yield return new VerbCommand("top", "live view of hosts, VMs, migrations and the rebalancer", "watch")
            .With(Opt.Flag("--once", "draw once and exit"))
            .Example("vmctl top", "vmctl top --once");
    }
}
