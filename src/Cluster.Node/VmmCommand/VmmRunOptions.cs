using System.Globalization;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;

namespace Cluster.Node.VmmCommand;

/// <summary>The arguments of <c>cluster-node vmm run</c>.</summary>
public sealed record VmmRunOptions(BackendKind Backend, MachineConfig Machine)
{
    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        usage: cluster-node vmm run [--backend auto|emulated|kvm] [--memory SIZE] [--vcpus N] [--disk SPEC]... [--arg VALUE]... IMAGE
               cluster-node vmm run [--backend ...] [--memory SIZE] [--disk SPEC]... --kernel BZIMAGE [--initrd FILE] [--cmdline TEXT]
          IMAGE           a static x86-64 ELF file, or builtin:NAME for a test guest (hello, counter, dirtier,
                          compute, abpages, timer, smp, triple, blk)
          --kernel        a Linux bzImage, booted directly (KVM backend only); --cmdline defaults to console=ttyS0
          --backend       emulated (default: the software CPU), kvm, or auto (KVM when /dev/kvm works, else the emulator)
          --memory SIZE   guest memory, bytes or with a K, M or G suffix (default 64M)
          --vcpus N       vCPUs (default 1)
          --arg VALUE     an argument for the guest (repeatable; argv[0] is the first one)
          --disk SPEC     a virtio-blk disk (repeatable, in the order the guest sees them: vda, vdb, ...):
                          path=IMG[,format=raw|qcow2][,readonly][,cache=none|writeback][,serial=S], or IMG[,...];
                          the format is probed when left out, cache defaults to writeback, a comma in a value is written ,,
        The guest's serial console goes to stdout, input on stdin goes to it. The exit code is the guest's
        exit status; 124 after a shutdown (triple fault), 125 after an unsupported instruction or another
        backend error, 130 when stopped by SIGINT or SIGTERM, 1 when the machine cannot be created, 2 for bad arguments.
        """;

    /// <summary>Parses the arguments after "vmm run"; null with <paramref name="error"/> set when they are bad.</summary>
    public static VmmRunOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var backend = BackendKind.Emulated;
        ulong memory = 64UL << 20;
        int vcpus = 1;
        var guestArgs = new List<string>();
        var disks = new List<DiskSpec>();
        string? image = null, kernel = null, initrd = null, cmdline = null;
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "--backend" or "--memory" or "--vcpus" or "--arg" or "--kernel" or "--initrd" or "--cmdline" or "--disk")
            {
                if (i + 1 >= args.Count) { error = $"{a} needs a value"; return null; }
                string v = args[++i];
                switch (a)
                {
                    case "--backend":
                        BackendKind? b = v switch { "auto" => BackendKind.Auto, "emulated" => BackendKind.Emulated, "kvm" => BackendKind.Kvm, _ => null };
                        if (b is null) { error = $"unknown backend '{v}' (auto, emulated or kvm)"; return null; }
                        backend = b.Value;
                        break;
                    case "--memory":
                        if (!SizeText.TryParse(v, out memory) || memory == 0) { error = $"bad memory size '{v}' (for example 64M, 1G, 2097152)"; return null; }
                        break;
                    case "--vcpus":
                        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out vcpus) || vcpus < 1) { error = $"bad vCPU count '{v}'"; return null; }
                        break;
                    case "--kernel":
                        kernel = v;
                        break;
                    case "--initrd":
                        initrd = v;
                        break;
                    case "--cmdline":
                        cmdline = v;
                        break;
                    case "--disk":
                        if (DiskSpecText.Parse(v, out var diskError) is not { } disk) { error = diskError; return null; }
                        disks.Add(disk with { Path = Path.GetFullPath(disk.Path) });
                        break;
                    default:
                        guestArgs.Add(v);
                        break;
                }
            }
            else if (a.StartsWith('-') && a.Length > 1)
            {
                error = $"unknown option '{a}'";
                return null;
            }
            else if (image is null)
            {
                image = a;
            }
            else
            {
                error = $"more than one image given ('{image}' and '{a}'); pass guest arguments with --arg";
                return null;
            }
        }
        if (kernel is not null && (image is not null || guestArgs.Count > 0))
        {
            error = "--kernel boots Linux: give its arguments with --cmdline, not an IMAGE or --arg";
            return null;
        }
        if (kernel is null && (initrd is not null || cmdline is not null))
        {
            error = "--initrd and --cmdline need --kernel";
            return null;
        }
        if (image is null && kernel is null) { error = "no guest image given"; return null; }
        GuestImage guest = kernel is not null
            ? new LinuxGuestImage(kernel, initrd, cmdline ?? "console=ttyS0")
            : image!.StartsWith("builtin:", StringComparison.Ordinal)
                ? new BuiltInGuestImage(image["builtin:".Length..])
                : new ElfGuestImage(image);
        if (VmSpecValidator.CheckDisks(disks) is { } diskProblem) { error = diskProblem.Message; return null; }
        return new VmmRunOptions(backend, new MachineConfig
        {
            Vcpus = vcpus, MemoryBytes = memory, Image = guest, Args = guestArgs, Disks = DiskConfigs.Of(disks),
        });
    }
}
