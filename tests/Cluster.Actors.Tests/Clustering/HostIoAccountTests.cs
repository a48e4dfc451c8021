using Cluster.Actors.Clustering;
using Cluster.Contracts.Hosts;
using Cluster.Vmm.Devices;

namespace Cluster.Actors.Tests.Clustering;

public sealed class HostIoAccountTests
{
    private static IoCounters Disk(long written) => new(0, written, 0, written / 4096, 0, 0, 0, 0);

    [Fact]
    public void The_host_total_adds_what_each_run_grew_and_keeps_the_traffic_of_runs_that_ended_or_restarted()
    {
        var account = new HostIoAccount();
        Assert.Equal(Disk(4096).DiskWriteBytes, account.Observe("a", 1, Disk(4096)).DiskWriteBytes);
        account.Observe("b", 2, new IoCounters(0, 0, 0, 0, 1500, 60, 1, 1));
        account.Observe("a", 1, Disk(3 * 4096));
        Assert.Equal(new IoTotals(0, 3 * 4096, 0, 3, 1500, 60, 1, 1), account.Total);

        // a restarts (run 3, counters from zero again) and b leaves: nothing is taken back.
        account.KeepOnly(["a"]);
        account.Observe("a", 3, Disk(4096));
        Assert.Equal(new IoTotals(0, 4 * 4096, 0, 4, 1500, 60, 1, 1), account.Total);
        // b back on this host later: a new run counts whole.
        account.Observe("b", 4, new IoCounters(0, 0, 0, 0, 100, 0, 1, 0));
        Assert.Equal(1600, account.Total.NetRxBytes);
    }

    [Fact]
    public void A_generated_sequence_of_runs_never_makes_the_total_go_down()
    {
        var random = new Random(16);
        var account = new HostIoAccount();
        long run = 1, counter = 0, previous = 0, written = 0;
        for (var i = 0; i < 1000; i++)
        {
            if (random.Next(20) == 0)
            {
                run++;
                counter = 0;
            }
            var step = random.Next(0, 1 << 20);
            counter += step;
            written += step;
            account.Observe("vm", run, Disk(counter));
            Assert.InRange(account.Total.DiskWriteBytes, previous, long.MaxValue);
            previous = account.Total.DiskWriteBytes;
        }
        Assert.Equal(written, account.Total.DiskWriteBytes);
    }
}
