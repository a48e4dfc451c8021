using System.Net;
using System.Net.Sockets;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

public class MigrationSourceTests
{
    private const ulong Memory = 32UL << 20;

    [Fact]
    public void Abpages_migrated_while_it_runs_has_every_page_consistent_and_runs_on_the_target_only()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 20\n"), "the guest to run");

        var (source, target) = h.Migrate(h.Source);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal(MachineRunState.Finished, h.Source.State);
        Assert.Equal(MachineRunState.Running, h.Target!.State);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text);
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text) > passes + 5, "the guest to run on the target");
        h.Target.Pause();
        MigrationAssert.AbpagesConsistent(h.Target, 8);
    }

    [Fact]
    public void The_counter_console_continues_on_the_target_with_no_gap_and_no_repeat()
    {
        using var h = new MigrationHarness("counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 200\n"), "the guest to count");

        var (source, _) = h.Migrate(h.Source);

        Assert.True(source.Succeeded, source.FailureReason);
        string before = h.SourceConsole.Text;
        MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Split('\n').Length > 100, "the guest to count on the target");
        h.Target!.Pause();
        MigrationAssert.CountsWithoutGapOrRepeat(before + h.TargetConsole!.Text);
        Assert.Contains($"count {MigrationAssert.LastCount(before) + 1}\n", before + h.TargetConsole.Text);
    }

    [Fact]
    public void A_target_that_refuses_the_memory_size_leaves_the_vm_running_on_the_source()
    {
        using var h = new MigrationHarness("counter", Memory);
        var (source, target) = h.Migrate(h.Source, reserved: h.Source.Config with { MemoryBytes = Memory * 2 });

        Assert.False(source.Succeeded);
        Assert.Contains("memory size mismatch", source.FailureReason);
        Assert.False(target.Succeeded);
        Assert.Null(target.Machine);
        MigrationAssert.RunsOnSourceOnly(h);
    }

    [Fact]
    public void A_connection_cut_mid_stream_leaves_the_vm_running_on_the_source()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 2\n"), "the guest to write its pages");
        using var proxy = new CuttingProxy(cutAfterBytes: 1 << 20);
        var (source, target) = h.Migrate(h.Source, route: proxy.Route);

        Assert.False(source.Succeeded);
        Assert.False(target.Succeeded);
        Assert.Null(target.Machine);
        Assert.True(proxy.Cut);
        MigrationAssert.RunsOnSourceOnly(h);
    }

    [Fact]
    public void Cancelling_leaves_the_vm_running_on_the_source()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        using var cts = new CancellationTokenSource();
        var progress = new Progress(p => { if (p.Phase == MigrationPhase.PreCopy) cts.Cancel(); });
        var (source, target) = h.Migrate(h.Source, new MigrationOptions { MaxBandwidth = 16L << 20 }, ct: cts.Token, progress: progress);

        Assert.False(source.Succeeded);
        Assert.Equal("cancelled", source.FailureReason);
        Assert.False(target.Succeeded);
        MigrationAssert.RunsOnSourceOnly(h);
    }

    [Fact]
    public void A_failing_commit_leaves_the_vm_running_on_the_source()
    {
        using var h = new MigrationHarness("counter", Memory);
        var options = new MigrationOptions { Commit = _ => throw new VmmException("journal unavailable") };
        var (source, target) = h.Migrate(h.Source, options);

        Assert.False(source.Succeeded);
        Assert.Equal("journal unavailable", source.FailureReason);
        Assert.True(source.Downtime > TimeSpan.Zero);
        Assert.False(target.Succeeded);
        MigrationAssert.RunsOnSourceOnly(h);
    }

    [Fact]
    public void The_result_splits_the_downtime_into_the_wait_for_ready_and_the_commit()
    {
        using var h = new MigrationHarness("counter", Memory);
        var options = new MigrationOptions { Commit = async ct => await Task.Delay(40, ct) };
        var (source, _) = h.Migrate(h.Source, options);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(source.ReadyAfter > TimeSpan.Zero);
        // Task.Delay(40) may end a fraction of a millisecond early on the Stopwatch's clock (39.6 ms seen).
        Assert.True(source.CommitTime >= TimeSpan.FromMilliseconds(35), $"commit {source.CommitTime}");
        Assert.True(source.Downtime >= source.ReadyAfter + source.CommitTime, $"{source.Downtime} < {source.ReadyAfter} + {source.CommitTime}");
    }

    [Fact]
    public void Migrates_there_and_back_back_to_back()
    {
        using var h = new MigrationHarness("counter", Memory);
        var (there, _) = h.Migrate(h.Source);
        Assert.True(there.Succeeded, there.FailureReason);
        var first = h.Target!;
        var firstConsole = h.TargetConsole!;
        var (back, _) = h.Migrate(first);
        Assert.True(back.Succeeded, back.FailureReason);
        Assert.Equal(MachineRunState.Finished, first.State);
        MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Length > 100, "the guest to count after coming back");
        h.Target!.Pause();
        MigrationAssert.CountsWithoutGapOrRepeat(h.SourceConsole.Text + firstConsole.Text + h.TargetConsole!.Text);
    }

    [Fact]
    public void Zero_pages_cost_only_their_markers()
    {
        using var h = new MigrationHarness("counter", 64UL << 20);
        var (source, _) = h.Migrate(h.Source, new MigrationOptions { Xbzrle = false });

        Assert.True(source.Succeeded, source.FailureReason);
        long dataPages = source.PagesSent - source.ZeroPages;
        Assert.True(source.ZeroPages > 15_000, $"{source.ZeroPages} zero pages");
        Assert.InRange(source.WireBytes, dataPages * 4104 + source.ZeroPages * 8, dataPages * 4104 + source.ZeroPages * 8 + (256 << 10));
    }

    [Fact]
    public void The_bandwidth_cap_is_honoured()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        const long cap = 16L << 20;
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 2\n"), "the guest to write its pages");
        var (source, _) = h.Migrate(h.Source, new MigrationOptions { MaxBandwidth = cap });

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(source.WireBytes > 8L << 20);
        double burst = Math.Max(cap * 0.02, 64 * 1024);
        Assert.True(source.TotalTime.TotalSeconds >= (source.WireBytes - burst) / cap,
            $"{source.WireBytes} bytes in {source.TotalTime.TotalMilliseconds} ms exceed {cap} bytes/s");
    }

    [Fact]
    public void Parallel_connections_move_a_fast_dirtier_with_every_page_record_applied()
    {
        using var h = new MigrationHarness("dirtier", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("dirtier pass 3\n"), "the guest to dirty");
        var options = new MigrationOptions { Connections = 3, DowntimeLimit = TimeSpan.FromMilliseconds(20) };
        var (source, target) = h.Migrate(h.Source, options);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.Equal(target.PagesReceived, source.PagesSent);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text, "dirtier");
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text, "dirtier") > passes, "the guest to dirty on the target");
    }

    [Fact]
    public void Auto_converge_throttles_a_dirtier_that_outruns_a_capped_link_and_lifts_the_throttle_on_failure()
    {
        using var h = new MigrationHarness("dirtier", Memory, "4");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("dirtier pass 3\n"), "the guest to dirty");
        var options = new MigrationOptions { Mode = MigrationMode.AutoConverge, MaxBandwidth = 32L << 20, DowntimeLimit = TimeSpan.FromMilliseconds(10), MaxRounds = 4, Xbzrle = false };
        var (source, _) = h.Migrate(h.Source, options);

        Assert.False(source.Succeeded);
        Assert.Contains("did not converge in 4 rounds", source.FailureReason);
        Assert.Equal(options.ThrottleInitial + 2 * options.ThrottleIncrement, source.MaxThrottlePercent);
        MigrationAssert.RunsOnSourceOnly(h, "dirtier pass");
    }

    [Fact]
    public void Under_the_limit_but_not_shrinking_auto_throttles_before_it_stops_and_copies()
    {
        // A 2 MiB working set rewritten faster than an 8 MiB/s link sends it: every round finds all of it dirty again
        // (never shrinking), and 2 MiB fit the 1 s limit. Before, the source stopped at once with all of it in the pause;
        // now it throttles the vCPUs for up to ConvergeRounds more rounds first (StopRuleTests has the rule's cases).
        using var h = new MigrationHarness("dirtier", Memory, "2");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("dirtier pass 3\n"), "the guest to dirty");
        var options = new MigrationOptions
        {
            Mode = MigrationMode.Auto, AllowPostCopy = false, MaxBandwidth = 8L << 20, Xbzrle = false, DowntimeLimit = TimeSpan.FromSeconds(1),
        };
        var (source, target) = h.Migrate(h.Source, options);

        Assert.True(source.Succeeded, source.FailureReason);
        Assert.True(target.Succeeded, target.FailureReason);
        Assert.Equal(MigrationMode.AutoConverge, source.ModeUsed);
        Assert.InRange(source.MaxThrottlePercent, options.ThrottleInitial, options.ThrottleMax);
        Assert.InRange(source.Rounds, 3, 2 + options.ConvergeRounds + 4);
        int passes = MigrationAssert.LastPass(h.SourceConsole.Text, "dirtier");
        MigrationHarness.WaitUntil(() => MigrationAssert.LastPass(h.TargetConsole!.Text, "dirtier") > passes, "the guest to dirty on the target");
    }

    [Fact]
    public void Auto_mode_refuses_a_migration_that_cannot_meet_the_limits()
    {
        using var h = new MigrationHarness("dirtier", Memory, "2");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("dirtier pass 3\n"), "the guest to dirty");
        var options = new MigrationOptions { MaxBandwidth = 8L << 20, Xbzrle = false, DowntimeLimit = TimeSpan.FromMilliseconds(5), ThrottleMax = 20, AllowPostCopy = false };
        var (source, target) = h.Migrate(h.Source, options);

        Assert.False(source.Succeeded);
        Assert.Contains("cannot meet the downtime limit", source.FailureReason);
        Assert.Contains("post-copy not allowed", source.FailureReason);
        Assert.False(target.Succeeded);
        MigrationAssert.RunsOnSourceOnly(h, "dirtier pass");
    }

    /// <summary>IProgress that reports synchronously on the source's thread.</summary>
    private sealed class Progress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }

    /// <summary>A TCP relay to the target that closes both sides after a number of bytes from the source.</summary>
    private sealed class CuttingProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly long _cutAfter;
        private long _forwarded;
        private volatile bool _cut;

        public CuttingProxy(long cutAfterBytes)
        {
            _cutAfter = cutAfterBytes;
            _listener.Start();
        }

        public bool Cut => _cut;

        public IPEndPoint Route(IPEndPoint target)
        {
            _ = Task.Run(async () =>
            {
                using var client = await _listener.AcceptSocketAsync();
                using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await server.ConnectAsync(target);
                var back = Pump(server, client, cutting: false);
                await Pump(client, server, cutting: true);
                client.Close(0);
                server.Close(0);
                await back.ContinueWith(_ => { });
            });
            return (IPEndPoint)_listener.LocalEndpoint;
        }

        private async Task Pump(Socket from, Socket to, bool cutting)
        {
            var buffer = new byte[64 << 10];
            try
            {
                while (true)
                {
                    int n = await from.ReceiveAsync(buffer);
                    if (n == 0) return;
                    if (cutting && Interlocked.Add(ref _forwarded, n) > _cutAfter)
                    {
                        _cut = true;
                        return;
                    }
                    await to.SendAsync(buffer.AsMemory(0, n));
                }
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        public void Dispose() => _listener.Stop();
    }
}
