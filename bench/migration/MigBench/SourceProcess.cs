using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace MigBench;

/// <summary>
/// The source process: boots the benchmark guest (bench/migration/guest/migdirty.c) on the
/// emulator, waits until it has written its fill, measures the dirty rate it really achieves from
/// its "dirtied N" lines over 1.5 s, then migrates it to the target and reports the result and the
/// page stream's throughput in the bulk round. The target's credentials come from the file it wrote
/// (<c>--credentials</c>), as a node would hand them over the control plane.
/// </summary>
internal static partial class SourceProcess
{
    public static int Run(Args a)
    {
        Warmup.Run(Path.GetFullPath(a.Get("guest", "migdirty.elf")));
        using var hypervisor = new EmulatedHypervisor();
        var config = BenchMachine.Config(a);
        var machine = Machine.Create(hypervisor, config);
        var console = new StringBuilder();
        machine.Serial.Output += bytes => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        machine.Start();
        string Text() { lock (console) return console.ToString(); }
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Text().Contains("filled\n"))
        {
            if (DateTime.UtcNow > deadline) { Console.WriteLine("converged=0 reason=\"the guest did not fill its memory\""); return 1; }
            Thread.Sleep(10);
        }
        Thread.Sleep(100);
        long before = LastDirtied(Text());
        var window = Stopwatch.StartNew();
        Thread.Sleep(1500);
        double achieved = (LastDirtied(Text()) - before) / window.Elapsed.TotalSeconds;

        var options = new MigrationOptions
        {
            DowntimeLimit = TimeSpan.FromMilliseconds(a.GetLong("downtime-ms", 300)),
            Connections = (int)a.GetLong("connections", 1),
            XbzrleCacheBytes = a.GetLong("xbzrle-mib", 64) << 20,
            Xbzrle = a.GetLong("xbzrle-mib", 64) > 0,
            MaxRounds = 60,
            Mode = a.Get("mode", "auto") switch
            {
                "precopy" => MigrationMode.PreCopy,
                "postcopy" => MigrationMode.PostCopy,
                "auto" => MigrationMode.Auto,
                var m => throw new ArgumentException($"unknown --mode {m} (precopy, auto, postcopy)"),
            },
        };
        var progress = new StreamClock();
        var target = new IPEndPoint(IPAddress.Loopback, (int)a.GetLong("port", 0));
        var credentials = BenchMachine.ReadCredentials(a.Get("credentials", "credentials.txt"));
        var result = new MigrationSource(machine, options).MigrateAsync(target, credentials, progress).GetAwaiter().GetResult();
        if (!result.Succeeded) machine.Dispose();
        var tsc = TscLine().Match(Text());
        Console.WriteLine($"converged={(result.Succeeded ? 1 : 0)} achieved_mib_s={achieved:0.0} guest_tsc_per_ms={(tsc.Success ? tsc.Groups[1].Value : "-")} total_ms={result.TotalTime.TotalMilliseconds:0.0} " +
            $"downtime_ms={result.Downtime.TotalMilliseconds:0.00} ready_ms={result.ReadyAfter.TotalMilliseconds:0.00} resume_ms={result.ResumeTime.TotalMilliseconds:0.00} wire_bytes={result.WireBytes} rounds={result.Rounds} final_pages={result.FinalPages} " +
            $"delta_pages={result.DeltaPages} zero_pages={result.ZeroPages} throttle={result.MaxThrottlePercent} mode={result.ModeUsed} " +
            $"postcopy_pages={result.PostCopyPages} on_demand_pages={result.PagesFetchedOnDemand} stream_bulk_mib_s={progress.BulkMibPerSecond:0} stream_round_mib_s={progress.BestRoundMibPerSecond:0} " +
            $"reason=\"{result.FailureReason}\"");
        return result.Succeeded ? 0 : 1;
    }

    private static long LastDirtied(string console)
    {
        var m = DirtiedLine().Matches(console);
        return m.Count == 0 ? 0 : long.Parse(m[^1].Groups[1].Value);
    }

    [GeneratedRegex(@"tsc_per_ms (\d+)\n")]
    private static partial Regex TscLine();

    [GeneratedRegex(@"dirtied (\d+)\n")]
    private static partial Regex DirtiedLine();

    /// <summary>
    /// Times the page stream from the progress reports: the bulk round (the report that starts round 0
    /// to the next, into fresh target memory) and the best later round that moved at least 16 MiB
    /// (target memory already resident). Rounds end with the target's Synced, so both are end-to-end.
    /// </summary>
    private sealed class StreamClock : IProgress<MigrationProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _last;
        private long _lastBytes = -1;
        private int _reports;

        public double BulkMibPerSecond { get; private set; }
        public double BestRoundMibPerSecond { get; private set; }

        private static readonly bool Trace = Environment.GetEnvironmentVariable("MIGBENCH_TRACE") == "1";

        public void Report(MigrationProgress value)
        {
            if (Trace)
                Console.Error.WriteLine($"trace t_ms={_clock.Elapsed.TotalMilliseconds:0.0} phase={value.Phase} round={value.Round} " +
                    $"remaining_mib={value.RemainingDirtyBytes / 1048576.0:0.00} rate_mib_s={value.TransferRate / 1048576.0:0} " +
                    $"dirty_mib_s={value.DirtyRate / 1048576.0:0} throttle={value.ThrottlePercent}");
            if (value.Phase != MigrationPhase.PreCopy) return;
            var now = _clock.Elapsed;
            double rate = (value.WireBytes - _lastBytes) / (now - _last).TotalSeconds / (1 << 20);
            if (++_reports == 2) BulkMibPerSecond = rate;
            else if (_reports > 2 && value.WireBytes - _lastBytes >= 16 << 20) BestRoundMibPerSecond = Math.Max(BestRoundMibPerSecond, rate);
            _last = now;
            _lastBytes = value.WireBytes;
        }
    }
}
