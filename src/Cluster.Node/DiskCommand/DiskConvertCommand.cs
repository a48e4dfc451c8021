using Cluster.Node.Cli;
using Cluster.Contracts.Validation;
using Cluster.Node.Hosting;
using Cluster.Vmm.Storage;

namespace Cluster.Node.DiskCommand;

/// <summary><c>cluster-node disk convert</c>.</summary>
internal static class DiskConvertCommand
{
    private const ulong ProgressFrom = 64 << 20;

    public static int Run(CliArgs a, TextWriter stdout, TextWriter stderr)
    {
        if (DiskCommands.ParseFormat(a.Get("--to")) is not { } to)
            return DiskCommands.UsageError(stderr, "convert", $"--to must be raw or qcow2{(a.Get("--to") is { } t ? $", not '{t}'" : "")}");
        int clusterSize = 65536;
        if (a.Get("--cluster-size") is { } c)
        {
            if (!SizeText.TryParse(c, out var cs) || cs < 512 || cs > 2 << 20 || (cs & (cs - 1)) != 0)
                return DiskCommands.UsageError(stderr, "convert", $"bad cluster size '{c}' (a power of two from 512 to 2M)");
            clusterSize = (int)cs;
        }
        string input = a.Operands[0], output = a.Operands[1];
        bool show = a.Has("--progress") || DiskImage.Info(input).VirtualSize >= ProgressFrom;
        int lastPercent = -1;
        var progress = show ? new SynchronousProgress(p =>
        {
            int percent = (int)(p.Done * 100 / Math.Max(p.Total, 1));
            if (percent == lastPercent)
                return;
            lastPercent = percent;
            stderr.Write(FormattableString.Invariant($"\r    ({percent,3}/100%)"));
            if (p.Done == p.Total)
                stderr.WriteLine();
        }) : null;
        DiskImage.Convert(input, output, to, new DiskCreateOptions(ClusterSize: clusterSize), progress);
        return DiskCommands.ExitOk;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<(ulong Done, ulong Total)> report) : IProgress<(ulong Done, ulong Total)>
    {
        public void Report((ulong Done, ulong Total) value) => report(value);
    }
}
