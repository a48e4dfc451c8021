using Cluster.Vmm;
using Cluster.Vmm.Storage;

namespace Cluster.Node.DiskCommand;

/// <summary>
/// <c>cluster-node disk</c>: create, describe, convert and check disk images (raw and qcow2), for
/// operators and tests, with the VMM's own image code.
/// </summary>
public static class DiskCommands
{
    /// <summary>Exit code on success (and for check: no errors, no leaks).</summary>
    public const int ExitOk = 0;
    /// <summary>Exit code when an image cannot be opened, created, converted or checked.</summary>
    public const int ExitFailed = 1;
    /// <summary>Exit code of check when it found leaked clusters only.</summary>
    public const int ExitLeaks = 2;
    /// <summary>Exit code of check when it found errors.</summary>
    public const int ExitErrors = 3;
    /// <summary>Exit code for bad arguments.</summary>
    public const int ExitUsage = 64;

    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        usage: cluster-node disk create --format raw|qcow2 --size SIZE [--backing FILE [--backing-format raw|qcow2]]
                                        [--cluster-size N] OUT
               cluster-node disk info [--json] FILE
               cluster-node disk convert --to raw|qcow2 [--cluster-size N] [--progress] IN OUT
               cluster-node disk check FILE
               cluster-node disk exercise [--seed N] [--ops N] FILE
          create     a new empty image (overwrites OUT); qcow2 may have a backing file (then --size may be left out:
                     the backing file's size); a relative backing name is resolved against OUT's directory
          info       format, virtual size, bytes allocated on disk, cluster size, snapshots, backing chain
          convert    copies IN (any format, its backing chain flattened) into a new sparse OUT; progress goes to
                     stderr for images of 64 MiB and more, or with --progress
          check      recounts a qcow2 image's refcounts (as qemu-img check); prints what it finds as qemu-img does
          exercise   random writes, zeroing and discards on FILE until killed or N operations (for crash tests);
                     prints "ops N" after every 100 operations
          SIZE       bytes, or a number with K, M or G (binary): 512K, 64M, 1G; N for --cluster-size likewise
                     (512 to 2M, a power of two; default 64K)
        Images are locked as QEMU locks them: a file in use by a VM (or QEMU) for writing is refused.
        Exit codes: 0 success (check: clean), 1 the image cannot be opened, created or written (the message says
        why), 2 check found leaked clusters only, 3 check found errors, 64 bad arguments.
        """;

    /// <summary>Runs the command with the arguments after "disk"; returns the process exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args is [] or ["--help" or "-h" or "help"])
        {
            (args is [] ? stderr : stdout).WriteLine(Usage);
            return args is [] ? ExitUsage : ExitOk;
        }
        try
        {
            return args[0] switch
            {
                "create" => DiskCreateCommand.Run(args.Skip(1).ToArray(), stdout, stderr),
                "info" => DiskInfoCommand.Run(args.Skip(1).ToArray(), stdout, stderr),
                "convert" => DiskConvertCommand.Run(args.Skip(1).ToArray(), stdout, stderr),
                "check" => DiskCheckCommand.Run(args.Skip(1).ToArray(), stdout, stderr),
                "exercise" => DiskExerciseCommand.Run(args.Skip(1).ToArray(), stdout, stderr),
                _ => UsageError(stderr, $"unknown disk command '{args[0]}'"),
            };
        }
        catch (VmmException e)
        {
            stderr.WriteLine($"disk {args[0]}: {e.Message}");
            return ExitFailed;
        }
    }

    /// <summary>Prints <paramref name="message"/> and the usage; returns <see cref="ExitUsage"/>.</summary>
    internal static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"disk: {message}");
        stderr.WriteLine(Usage);
        return ExitUsage;
    }

    /// <summary>Parses a format name; null for an unknown one.</summary>
    internal static DiskFormat? ParseFormat(string? text) => text switch
    {
        "raw" => DiskFormat.Raw,
        "qcow2" => DiskFormat.Qcow2,
        _ => null,
    };

    /// <summary>Bytes as qemu-img shows them: "64 MiB".</summary>
    internal static string Human(ulong bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : FormattableString.Invariant($"{value:0.###} {units[unit]}");
    }
}
