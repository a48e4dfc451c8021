using System.Globalization;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Node.Cli;
using System.CommandLine;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;

namespace Cluster.Node.VmmCommand;

/// <summary>The arguments of <c>cluster-node vmm run</c>.</summary>
public sealed record VmmRunOptions(BackendKind Backend, MachineConfig Machine)
{
    /// <summary>The <c>vmm run</c> command: its options, help and handler.</summary>
    public static CliCommand Command() => new CliCommand("run", "run one guest in this process, without the cluster: its serial console on stdout and stdin")
    {
        Handler = (args, io) => From(args, out var error) is { } options ? VmmRunCommand.Run(options, io.OpenOut(), io.Error)
            : NodeCli.UsageError(["vmm", "run"], io, error!),
        UsageExitCode = VmmRunCommand.ExitUsage,
    }
        .With(new Argument<string>("IMAGE")
        {
            Description = "a static x86-64 ELF file, or builtin:NAME for a test guest (hello, counter, dirtier, compute, abpages, timer, smp, triple, blk)",
            Arity = ArgumentArity.ZeroOrOne,
        })
        .With(
            CliCommand.Value("--backend", "auto|emulated|kvm", "emulated (default: the software CPU), kvm, or auto (KVM when /dev/kvm works, else the emulator)"),
            CliCommand.Value("--memory", "SIZE", "guest memory, bytes or with a K, M, G suffix (powers of 1024; default 64M)"),
            CliCommand.Value("--vcpus", "N", "vCPUs (default 1)"),
            CliCommand.Repeated("--arg", "VALUE", "an argument for the guest (repeatable; argv[0] is the first one)"),
            CliCommand.Repeated("--disk", "SPEC", "a virtio-blk disk (repeatable, in the order the guest sees them: vda, vdb, ...): path=IMG[,format=raw|qcow2][,readonly][,cache=none|writeback][,serial=S], or IMG[,...]"),
            CliCommand.Value("--kernel", "BZIMAGE", "a Linux bzImage, booted directly (KVM backend only) instead of an IMAGE"),
            CliCommand.Value("--initrd", "FILE", "the initramfs of --kernel"),
            CliCommand.Value("--cmdline", "TEXT", "the kernel command line of --kernel (default console=ttyS0)"))
        .Example(
            "cluster-node vmm run builtin:hello --arg hello --arg world",
            "cluster-node vmm run --backend kvm --memory 256M --kernel /boot/vmlinuz --initrd initrd.img --cmdline 'console=ttyS0 quiet'",
            "cluster-node vmm run --disk path=disk.qcow2,cache=none builtin:blk")
        .Note("""
            A disk's format is probed when left out, cache defaults to writeback, a comma in a value is written ,,.
            Exit codes: the guest's exit status; 124 after a shutdown (triple fault), 125 after an unsupported instruction or
            another backend error, 130 when stopped by SIGINT or SIGTERM, 1 when the machine cannot be created, 2 for bad arguments.
            """);

    /// <summary>Parses the arguments after "vmm run"; null with <paramref name="error"/> set when they are bad.</summary>
    public static VmmRunOptions? Parse(IReadOnlyList<string> args, out string? error) =>
        NodeCli.Parse(["vmm", "run"], args, out error) is { } parsed ? From(parsed, out error) : null;

    /// <summary>The options of a parsed <c>vmm run</c> command line; null with <paramref name="error"/> when its values are bad.</summary>
    public static VmmRunOptions? From(CliArgs args, out string? error)
    {
        var backend = BackendKind.Emulated;
        ulong memory = 64UL << 20;
        int vcpus = 1;
        var guestArgs = args.All("--arg").ToList();
        var disks = new List<DiskSpec>();
        string? image = args.Operands.Count > 0 ? args.Operands[0] : null;
        string? kernel = args.Get("--kernel"), initrd = args.Get("--initrd"), cmdline = args.Get("--cmdline");
        error = null;
        if (args.Get("--backend") is { } b)
        {
            if (Hosting.NodeOptions.ParseBackend(b) is not { } chosen) { error = $"unknown backend '{b}' (auto, emulated or kvm)"; return null; }
            backend = chosen;
        }
        if (args.Get("--memory") is { } m && (!SizeText.TryParse(m, out memory, out var why) || memory == 0))
        {
            error = $"bad memory size '{m}': {why ?? "0 bytes"}";
            return null;
        }
        if (args.Get("--vcpus") is { } v && (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out vcpus) || vcpus < 1))
        {
            error = $"bad vCPU count '{v}'";
            return null;
        }
        foreach (var d in args.All("--disk"))
        {
            if (DiskSpecText.Parse(d, out var diskError) is not { } disk) { error = diskError; return null; }
            disks.Add(disk with { Path = Path.GetFullPath(disk.Path) });
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
