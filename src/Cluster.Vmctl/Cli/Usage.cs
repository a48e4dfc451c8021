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
                    [--priority N] [--start]     (a label require.KEY=VALUE places on hosts labelled KEY=VALUE)
          start ID | pause ID | resume ID | stop ID [--force] | delete ID
          list                      all VMs of the node (of the whole cluster on a cluster node)
          nodes                     the cluster's hosts with capacity, allocations and load
          leave HOST:PORT           a host leaves the cluster gracefully; its VMs restart elsewhere
          show ID                   one VM
          events ID                 its lifecycle events, oldest first
          console ID [--bytes N]    the last N bytes of its serial console (default 4096)
          console ID --follow [--seconds N]   stream the console (until Ctrl-C, or for N seconds)
          console ID --input TEXT   type TEXT (with C escapes \n \r \t) into the serial port
        options:
          --node HOST:PORT   the node (default $VMCTL_NODE or 127.0.0.1:4053)
          --timeout SECONDS  how long to wait for the node (default 5)
          --json             machine-readable output
        exit codes: 0 ok, 1 refused (not allowed, not found, invalid spec), 2 usage,
                    3 node unreachable, 4 unexpected reply
        """;
}
