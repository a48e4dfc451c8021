using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>The commands on one VM or on the list of VMs: create, start, pause, resume, stop, delete, list, show,
/// get, apply, events, console.</summary>
public static class VmVerbs
{
    private static Argument<string> Id() => Opt.Positional("ID", "the VM's id");

    public static IEnumerable<VerbCommand> All()
    {
        yield return new VerbCommand("create", "define a VM (and with --start run it)")
            .With(Id())
            .With(
                Opt.Value("--image", "NAME", "a built-in guest image (hello, counter, ...)"),
                Opt.Value("--elf", "PATH", "a guest ELF file"),
                Opt.Value("--kernel", "PATH", "a Linux kernel (bzImage)"),
                Opt.Value("--initrd", "PATH", "the kernel's initial ramdisk"),
                Opt.Value("--cmdline", "TEXT", "the kernel's command line (default console=ttyS0)"),
                Opt.Value("--name", "NAME", "a display name (default the id)"),
                Opt.Value("--vcpus", "N", "virtual CPUs (default 1)"),
                Opt.Value("--memory", "SIZE", "guest memory (default 64M; B, K/KiB, M/MiB, G/GiB, T/TiB)"),
                Opt.Many("--arg", "VALUE", "an argument for the guest (repeatable)"),
                Opt.Many("--label", "KEY=VALUE", "a label (repeatable); require.KEY=VALUE places on hosts labelled KEY=VALUE"),
                Opt.Value("--anti-affinity", "GROUP", "never on the same host as another VM of GROUP"),
                Opt.Value("--restart", "POLICY", "never, on-failure or always (default never)", "never", "on-failure", "always"),
                Opt.Value("--max-restarts", "N", "restarts allowed by the policy (default 3)"),
                Opt.Value("--priority", "N", "placement priority (default 0)"),
                Opt.Many("--disk", "SPEC", "a disk: path=IMG[,format=raw|qcow2][,readonly][,cache=none|writeback][,serial=S] (repeatable)"),
                Opt.Many("--nic", "network=NAME[,mac=MAC]", "a virtio-net NIC on a cluster network (repeatable)"),
                Opt.Flag("--start", "start it once created"))
            .Example("vmctl create web-1 --image counter --memory 128M --start",
                "vmctl create db --kernel /srv/bzImage --initrd /srv/initrd --vcpus 2 --memory 1G --disk path=/srv/db.qcow2,format=qcow2",
                "vmctl create web-2 --image hello --nic network=lan --anti-affinity web --restart on-failure")
            .Note("IMG is an absolute path that the hosts see (shared storage): the VM runs only on hosts that see the same file. " +
                  "Without mac= the cluster generates a locally administered MAC and assigns an address from the network's subnet.");
        yield return new VerbCommand("start", "start a defined or stopped VM").With(Id()).Example("vmctl start web-1");
        yield return new VerbCommand("pause", "pause a running VM's vCPUs").With(Id()).Example("vmctl pause web-1");
        yield return new VerbCommand("resume", "resume a paused VM").With(Id()).Example("vmctl resume web-1");
        yield return new VerbCommand("stop", "stop a VM (gracefully, or with --force at once)").With(Id())
            .With(Opt.Flag("--force", "stop at once, without waiting for the guest"))
            .Example("vmctl stop web-1", "vmctl stop web-1 --force");
        yield return new VerbCommand("delete", "delete a VM and its definition").With(Id()).Example("vmctl delete web-1");
        yield return new VerbCommand("list", "all VMs (of the whole cluster on a cluster node)")
            .Example("vmctl list", "vmctl list -o wide", "vmctl list -o json", "vmctl list --no-headers");
        yield return new VerbCommand("show", "one VM: spec, status, node, disks and NICs").With(Id()).Example("vmctl show web-1");
        yield return new VerbCommand("get", "one VM's spec in the format 'apply -f' reads")
            .With(Opt.Positional("KIND", "vm", "vm"))
            .With(Opt.Positional("ID", "the VM's id"))
            .Example("vmctl get vm web-1 -o yaml > web-1.yaml", "vmctl get vm web-1 -o json");
        yield return new VerbCommand("apply", "create a VM from a spec file, or update it when its spec changed (while it is not running)")
            .With(Opt.Short("--filename", "-f", "FILE", "the spec (YAML or JSON); - for standard input"))
            .Example("vmctl apply -f web-1.yaml", "vmctl get vm web-1 -o yaml | sed 's/vcpus: 1/vcpus: 2/' | vmctl apply -f -")
            .Note("The file holds one VM: id, name, vcpus, memory (64M, 1GiB, bytes), image (builtin: NAME, elf: PATH or " +
                  "kernel: PATH with initrd and cmdline), args, labels, antiAffinityGroup, restart (mode, maxRestarts), " +
                  "priority, disks, nics. 'unchanged' when it equals the VM's spec; NICs cannot be changed by apply.");
        yield return new VerbCommand("events", "a VM's lifecycle events, oldest first, each migration with its cause and figures")
            .With(Id())
            .With(Opt.Value("--vm", "ID", "the VM (instead of the argument)"))
            .Example("vmctl events web-1", "vmctl events --vm web-1 -o json");
        yield return new VerbCommand("console", "a VM's serial console: the last bytes, followed, typed into, or interactive")
            .With(Id())
            .With(
                Opt.Value("--bytes", "N", "the last N bytes (default 4096)"),
                Opt.Flag("--follow", "stream the console until Ctrl-C (with --node)"),
                Opt.Value("--seconds", "N", "with --follow or -i: stop after N seconds"),
                Opt.Value("--input", "TEXT", "type TEXT (with C escapes \\n \\r \\t) into the serial port"),
                Opt.Flag("--interactive", "the console both ways over a WebSocket (with --server), raw keys until Ctrl-]", "-i"))
            .Example("vmctl console web-1", "vmctl console web-1 --follow --seconds 10", "vmctl console web-1 --input 'ls\\n'",
                "vmctl --server https://127.0.0.1:4770 console web-1 -i");
    }
}
