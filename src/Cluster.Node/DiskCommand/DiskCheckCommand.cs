using Cluster.Node.Cli;
using Cluster.Vmm.Storage;

namespace Cluster.Node.DiskCommand;

/// <summary><c>cluster-node disk check</c>: exit 0 clean, 2 leaks only, 3 errors.</summary>
internal static class DiskCheckCommand
{
    public static int Run(CliArgs a, TextWriter stdout, TextWriter stderr)
    {
        var report = DiskImage.Check(a.Operands[0]);
        stdout.Write(report.Format());
        return report.Errors > 0 ? DiskCommands.ExitErrors : report.Leaks > 0 ? DiskCommands.ExitLeaks : DiskCommands.ExitOk;
    }
}
