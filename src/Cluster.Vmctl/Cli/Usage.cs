namespace Cluster.Vmctl.Cli;

/// <summary>vmctl's usage text.</summary>
public static class Usage
{
    public const string Text =
        """
        usage: vmctl [--node HOST:PORT] [--timeout SECONDS] [--json] COMMAND [ARGS]
        commands:
          create ID [--image NAME | --elf PATH | --kernel PATH [--initrd PATH] [--cmdline TEXT]]
                    [--name NAME] [--vcpus N] [--memory SIZE] [--arg VALUE]... [--label KEY=VALUE]...
                    [--anti-affinity GROUP] [--restart never|on-failure|always] [--max-restarts N]
                    [--priority N] [--disk SPEC]... [--start]
                                    (a label require.KEY=VALUE places on hosts labelled KEY=VALUE)
                                    SPEC: path=IMG[,format=raw|qcow2][,readonly][,cache=none|writeback][,serial=S]
                                    or IMG[,...]; IMG an absolute path that the hosts see (shared storage): the
                                    VM runs only on hosts that see the same file there
          start ID | pause ID | resume ID | stop ID [--force] | delete ID
          list                      all VMs of the node (of the whole cluster on a cluster node)
          nodes                     the cluster's hosts with capacity, allocations and load
          leave HOST:PORT           a host leaves the cluster gracefully; its VMs restart elsewhere
          show ID                   one VM
          events ID                 its lifecycle events, oldest first; each migration with its cause,
                                    the figures behind it, its limits and its outcome (or: events --vm ID)
          console ID [--bytes N]    the last N bytes of its serial console (default 4096)
          console ID --follow [--seconds N]   stream the console (until Ctrl-C, or for N seconds)
          console ID --input TEXT   type TEXT (with C escapes \n \r \t) into the serial port
          migrate ID --to HOST:PORT [--downtime-ms N] [--bandwidth B] [--mode precopy|postcopy|auto]
                    [--connections N] [--wait]
                                    move a running VM live; B is in bytes per second (500K, 100M, 1G:
                                    powers of 1024; default 0, no cap), downtime default 300 ms, mode auto,
                                    1 connection; --wait shows its progress until it ends (exit 5 if it failed)
          migrate --cancel ID       cancel its migration; before the commit it stays on its source host
          migrations [--watch]      migrations in flight and recently ended (--watch: redraw every second)
          drain HOST:PORT [--wait]  move every VM off a host and take no new ones; --wait follows until the
                                    host is empty (exit 5 listing the VMs that fit nowhere)
          undrain HOST:PORT         the host takes new VMs again
          rebalance                 the rebalancer: mode, imbalance vs threshold, host loads, plan, moves in flight
          rebalance mode off|recommend|automatic
          top [--once]              live view of hosts, VMs, migrations and the rebalancer (alias: watch)
        options:
          --node HOST:PORT   the node (default $VMCTL_NODE or 127.0.0.1:4053)
          --timeout SECONDS  how long to wait for the node (default 5)
          --json             machine-readable output
        exit codes: 0 ok, 1 refused (not allowed, not found, invalid spec), 2 usage,
                    3 node unreachable, 4 unexpected reply, 5 a followed migration or drain failed
        """;
}
