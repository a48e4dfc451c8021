using Cluster.Node.Cli;
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

    private const string ExitCodes =
        """
        Exit codes: 0 success (check: clean), 1 the image cannot be opened, created or written (the message says why),
        2 check found leaked clusters only, 3 check found errors, 64 bad arguments.
        """;

    private const string Sizes =
        "SIZE: bytes, or a number with K, M, G or T (powers of 1024): 512K, 64M, 1G. Images are locked as QEMU locks them: " +
        "a file in use by a VM (or QEMU) for writing is refused.";

    /// <summary>The <c>disk</c> command and its subcommands.</summary>
    public static CliCommand Command() =>
        new CliCommand("disk", "disk images, raw and qcow2, with the VMM's own image code: create, info, convert, check") { UsageExitCode = ExitUsage }
            .With(
                Sub("create", "a new empty image (overwrites OUT); qcow2 may have a backing file (then --size may be left out: the backing file's size)",
                        DiskCreateCommand.Run)
                    .With(CliCommand.Operand("OUT", "the image to create"))
                    .With(
                        CliCommand.Value("--format", "raw|qcow2", "the image format"),
                        CliCommand.Value("--size", "SIZE", "the virtual size"),
                        CliCommand.Value("--backing", "FILE", "qcow2: the backing file (a relative name is resolved against OUT's directory)"),
                        CliCommand.Value("--backing-format", "raw|qcow2", "the backing file's format (probed when left out)"),
                        CliCommand.Value("--cluster-size", "N", "qcow2: 512 to 2M, a power of two (default 64K)"))
                    .Example("cluster-node disk create --format qcow2 --size 10G vm1.qcow2",
                        "cluster-node disk create --format qcow2 --backing base.raw overlay.qcow2"),
                Sub("info", "format, virtual size, bytes allocated on disk, cluster size, snapshots, backing chain", DiskInfoCommand.Run)
                    .With(CliCommand.Operand("FILE", "the image"))
                    .With(CliCommand.Flag("--json", "print JSON (as qemu-img info --output=json)"))
                    .Example("cluster-node disk info --json vm1.qcow2"),
                Sub("convert", "copy IN (any format, its backing chain flattened) into a new sparse OUT", DiskConvertCommand.Run)
                    .With(CliCommand.Operand("IN", "the source image"), CliCommand.Operand("OUT", "the image to write"))
                    .With(
                        CliCommand.Value("--to", "raw|qcow2", "OUT's format"),
                        CliCommand.Value("--cluster-size", "N", "qcow2: 512 to 2M, a power of two (default 64K)"),
                        CliCommand.Flag("--progress", "show progress on stderr (always for images of 64 MiB and more)"))
                    .Example("cluster-node disk convert --to qcow2 disk.raw disk.qcow2"),
                Sub("check", "recount a qcow2 image's refcounts (as qemu-img check) and print what it finds as qemu-img does", DiskCheckCommand.Run)
                    .With(CliCommand.Operand("FILE", "the image"))
                    .Example("cluster-node disk check vm1.qcow2"),
                Sub("exercise", "random writes, zeroing and discards on FILE until killed or N operations (crash tests); prints \"ops N\" every 100",
                        DiskExerciseCommand.Run)
                    .With(CliCommand.Operand("FILE", "the image"))
                    .With(CliCommand.Value("--seed", "N", "the random seed"), CliCommand.Value("--ops", "N", "stop after N operations")))
            .Note(ExitCodes);

    private static CliCommand Sub(string name, string description, Func<CliArgs, TextWriter, TextWriter, int> run) =>
        new CliCommand(name, description)
        {
            Handler = (args, io) =>
            {
                try
                {
                    return run(args, io.Out, io.Error);
                }
                catch (VmmException e)
                {
                    io.Error.WriteLine($"disk {name}: {e.Message}");
                    return ExitFailed;
                }
            },
        }.Note(Sizes).Note(ExitCodes);

    /// <summary>Runs the command with the arguments after "disk"; returns the process exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr) =>
        NodeCli.Run(["disk", .. args], CliIo.Of(stdout, stderr));

    /// <summary>Prints "cluster-node disk SUB: message" and the subcommand's help; returns <see cref="ExitUsage"/>.</summary>
    internal static int UsageError(TextWriter stderr, string subcommand, string message) =>
        NodeCli.UsageError(["disk", subcommand], CliIo.Of(stderr, stderr), message);

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
