using Cluster.Node.Cli;
using Cluster.Contracts.Validation;
using Cluster.Node.Hosting;
using Cluster.Vmm.Storage;

namespace Cluster.Node.DiskCommand;

/// <summary><c>cluster-node disk create</c>.</summary>
internal static class DiskCreateCommand
{
    public static int Run(CliArgs a, TextWriter stdout, TextWriter stderr)
    {
        if (DiskCommands.ParseFormat(a.Get("--format")) is not { } format)
            return DiskCommands.UsageError(stderr, "create", $"--format must be raw or qcow2{(a.Get("--format") is { } f ? $", not '{f}'" : "")}");
        ulong? size = null;
        if (a.Get("--size") is { } s)
        {
            if (!SizeText.TryParse(s, out var bytes) || bytes == 0)
                return DiskCommands.UsageError(stderr, "create", $"bad size '{s}' (for example 64M, 1G, 512K, 1048576)");
            size = bytes;
        }
        else if (a.Get("--backing") is null)
        {
            return DiskCommands.UsageError(stderr, "create", "--size is needed (it may be left out only with --backing)");
        }
        DiskFormat? backingFormat = null;
        if (a.Get("--backing-format") is { } bf)
        {
            backingFormat = DiskCommands.ParseFormat(bf);
            if (backingFormat is null)
                return DiskCommands.UsageError(stderr, "create", $"--backing-format must be raw or qcow2, not '{bf}'");
            if (a.Get("--backing") is null)
                return DiskCommands.UsageError(stderr, "create", "--backing-format needs --backing");
        }
        if (a.Get("--backing") is not null && format == DiskFormat.Raw)
            return DiskCommands.UsageError(stderr, "create", "a raw image cannot have a backing file (use --format qcow2)");
        int clusterSize = 65536;
        if (a.Get("--cluster-size") is { } c)
        {
            if (format == DiskFormat.Raw)
                return DiskCommands.UsageError(stderr, "create", "--cluster-size applies to qcow2 only");
            if (!SizeText.TryParse(c, out var cs) || cs < 512 || cs > 2 << 20 || (cs & (cs - 1)) != 0)
                return DiskCommands.UsageError(stderr, "create", $"bad cluster size '{c}' (a power of two from 512 to 2M)");
            clusterSize = (int)cs;
        }
        string output = a.Operands[0];
        DiskImage.Create(output, format, size, new DiskCreateOptions(a.Get("--backing"), backingFormat, clusterSize));
        var info = DiskImage.Info(output);
        stdout.WriteLine($"created {output}: {(format == DiskFormat.Raw ? "raw" : "qcow2")}, {DiskCommands.Human(info.VirtualSize)} ({info.VirtualSize} bytes)"
            + (info.BackingFile is { } b ? $", backing file {b}" : ""));
        return DiskCommands.ExitOk;
    }
}
