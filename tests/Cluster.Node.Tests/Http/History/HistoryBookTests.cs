using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Http.History;

namespace Cluster.Node.Tests.Http.History;

public sealed class HistoryBookTests
{
    private static readonly DateTime T0 = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);

    internal static VmInfo Vm(string id, string node, VmStatus status = VmStatus.Running, int restarts = 0, string reason = "started") =>
        new(new VmSpec(id, id, 1, 64UL << 20, new BuiltInImage("hello"), [], new Dictionary<string, string>(), null, RestartPolicy.Never),
            status, restarts, T0, reason, node);

    internal static HostStatus Host(string host, double load, params PlacedVm[] vms) =>
        new(host, 4, 1UL << 30, new Dictionary<string, string>(), "GenuineIntel", [], vms, vms.Length, load, 32UL << 20, T0);

    [Fact]
    public void Records_each_host_and_vm_per_sample_with_the_vms_figures_from_its_host()
    {
        var book = new HistoryBook();
        for (var i = 0; i < 3; i++)
            book.Record(T0.AddSeconds(10 * i), [Host("h1:1", 0.1 * i, new PlacedVm("a", 1, 64UL << 20, null, 0.2 * i, 8UL << 20))], [Vm("a", "h1:1")]);

        var (at, host) = book.Host("h1:1")!.Read();
        Assert.Equal(3, at.Length);
        Assert.Equal(10_000, at[1] - at[0]);
        Assert.Equal([0.0, 0.1, 0.2], host["cpu"].Select(v => Math.Round(v!.Value, 3)));
        Assert.Equal(4, host["vcpus"][2]);
        var (_, vm) = book.Vm("a")!.Read();
        Assert.Equal(0.4, vm["cpu"][2]!.Value, 3);
        Assert.Equal(8 << 20, vm["memoryInUse"][2]);
        Assert.Equal(64 << 20, vm["memory"][2]);
    }

    [Fact]
    public void Forgets_a_deleted_vm_and_a_departed_host_and_stays_bounded()
    {
        var book = new HistoryBook(capacity: 5);
        for (var i = 0; i < 20; i++)
            book.Record(T0.AddSeconds(10 * i), [Host("h1:1", 0), Host("h2:1", 0)], [Vm("a", "h1:1"), Vm("b", "h2:1")]);
        Assert.Equal(5, book.Vm("a")!.Count);
        Assert.Equal(4, book.Rings);

        book.Record(T0.AddSeconds(300), [Host("h1:1", 0)], [Vm("a", "h1:1")]);
        Assert.Null(book.Vm("b"));
        Assert.Null(book.Host("h2:1"));
        Assert.Equal(2, book.Rings);
    }

    [Fact]
    public void A_vm_that_no_host_reports_has_no_cpu_or_working_set()
    {
        var book = new HistoryBook();
        book.Record(T0, [], [Vm("a", "standalone")]);
        var (_, vm) = book.Vm("a")!.Read();
        Assert.Equal([null], vm["cpu"]);
        Assert.Equal([null], vm["memoryInUse"]);
        Assert.Equal(64 << 20, vm["memory"][0]);
    }
    [Fact]
    public void Keeps_the_disk_and_network_rates_of_each_vm_and_host_from_their_counters_and_restarts_them_after_a_reset()
    {
        var book = new HistoryBook();
        IoTotals Io(long k) => new(k * 1000, k * 2000, k, k, k * 3000, k * 4000, k, k);
        // a's counters: 0, 10, 20, then a restart (back to 1), then 11; the host's total keeps growing.
        long[] vm = [0, 10, 20, 1, 11];
        for (var i = 0; i < vm.Length; i++)
            book.Record(T0.AddSeconds(10 * i), [Host("h1:1", 0, new PlacedVm("a", 1, 64UL << 20, null, 0, null, Io(vm[i]))) with { Io = Io(10 * i) }], [Vm("a", "h1:1")]);

        var (_, a) = book.Vm("a")!.Read();
        Assert.Equal([null, 1000.0, 1000.0, null, 1000.0], a["diskRead"]);
        Assert.Equal([null, 2000.0, 2000.0, null, 2000.0], a["diskWrite"]);
        Assert.Equal([null, 3000.0, 3000.0, null, 3000.0], a["netRx"]);
        Assert.Equal([null, 4000.0, 4000.0, null, 4000.0], a["netTx"]);
        var (_, host) = book.Host("h1:1")!.Read();
        Assert.Equal([null, 2000.0, 2000.0, 2000.0, 2000.0], host["diskWrite"]);
    }

    [Fact]
    public void A_host_without_io_counters_has_no_disk_or_network_rates()
    {
        var book = new HistoryBook();
        for (var i = 0; i < 3; i++)
            book.Record(T0.AddSeconds(10 * i), [Host("h1:1", 0, new PlacedVm("a", 1, 64UL << 20, null))], [Vm("a", "h1:1")]);
        Assert.All(HistoryBook.VmSeries.Where(n => n is "diskRead" or "diskWrite" or "netRx" or "netTx"), n => Assert.Equal([null, null, null], book.Vm("a")!.Read().Series[n]));
        Assert.Equal([null, null, null], book.Host("h1:1")!.Read().Series["netTx"]);
    }
}
