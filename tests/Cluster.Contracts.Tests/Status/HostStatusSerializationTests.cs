using Cluster.Contracts.Hosts;
using MessagePack;

namespace Cluster.Contracts.Tests.Status;

/// <summary>Host statuses between hosts of different versions: the I/O counters are optional keys at the end.</summary>
public class HostStatusSerializationTests
{
    private static readonly MessagePackSerializerOptions Options =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>PlacedVm as a host sends it before the I/O counters: keys 0-5.</summary>
    [MessagePackObject]
    public sealed record PlacedVmBeforeIo(
        [property: Key(0)] string VmId,
        [property: Key(1)] int Vcpus,
        [property: Key(2)] ulong MemoryBytes,
        [property: Key(3)] string? AntiAffinityGroup,
        [property: Key(4)] double CpuLoad,
        [property: Key(5)] ulong? MemoryUsedBytes);

    /// <summary>HostStatus as a host sends it before the I/O counters: keys 0-11.</summary>
    [MessagePackObject]
    public sealed record HostStatusBeforeIo(
        [property: Key(0)] string Host,
        [property: Key(1)] int Vcpus,
        [property: Key(2)] ulong MemoryBytes,
        [property: Key(3)] IReadOnlyDictionary<string, string> Labels,
        [property: Key(4)] string CpuVendor,
        [property: Key(5)] IReadOnlyList<string> CpuFeatures,
        [property: Key(6)] IReadOnlyList<PlacedVmBeforeIo> Vms,
        [property: Key(7)] int RunningVms,
        [property: Key(8)] double GuestCpuSeconds,
        [property: Key(9)] ulong MemoryInUseBytes,
        [property: Key(10)] DateTime At,
        [property: Key(11)] IReadOnlyList<DiskSeen> Disks);

    [Fact]
    public void Reads_the_status_of_a_host_without_io_counters_as_one_with_none()
    {
        var at = new DateTime(2026, 12, 7, 1, 0, 0, DateTimeKind.Utc);
        var old = new HostStatusBeforeIo("h1:1", 4, 1UL << 30, new Dictionary<string, string>(), "GenuineIntel", ["sse2"],
            [new PlacedVmBeforeIo("web-1", 2, 64UL << 20, "web", 0.5, 48UL << 20)], 1, 0.5, 64UL << 20, at, [new DiskSeen("/d", true, null)]);

        var status = MessagePackSerializer.Deserialize<HostStatus>(MessagePackSerializer.Serialize(old, Options), Options);

        Assert.Null(status.Io);
        var vm = Assert.Single(status.Vms);
        Assert.Equal(("web-1", 2, 64UL << 20, "web", 0.5, (ulong?)(48UL << 20)), (vm.VmId, vm.Vcpus, vm.MemoryBytes, vm.AntiAffinityGroup, vm.CpuLoad, vm.MemoryUsedBytes));
        Assert.Null(vm.Io);
        Assert.Equal(("h1:1", at), (status.Host, status.At));
    }

    [Fact]
    public void Keeps_the_io_counters_of_a_vm_and_of_its_host_through_a_round_trip_and_an_older_reader_skips_them()
    {
        var io = new IoTotals(1, 2, 3, 4, 5, 6, 7, 1L << 40);
        var status = new HostStatus("h1:1", 4, 1UL << 30, new Dictionary<string, string>(), "GenuineIntel", [],
            [new PlacedVm("web-1", 2, 64UL << 20, null, 0.5, null, io)], 1, 0.5, 64UL << 20, DateTime.UnixEpoch) { Io = io + io };
        var bytes = MessagePackSerializer.Serialize(status, Options);

        var back = MessagePackSerializer.Deserialize<HostStatus>(bytes, Options);
        Assert.Equal(io, back.Vms[0].Io);
        Assert.Equal(new IoTotals(2, 4, 6, 8, 10, 12, 14, 2L << 40), back.Io);

        var older = MessagePackSerializer.Deserialize<HostStatusBeforeIo>(bytes, Options);
        Assert.Equal("web-1", older.Vms[0].VmId);
    }

    [Fact]
    public void Growth_is_what_each_counter_added_and_a_counter_that_went_back_counts_from_zero()
    {
        var before = new IoTotals(100, 200, 10, 20, 1000, 2000, 5, 6);
        var now = new IoTotals(150, 200, 12, 20, 40, 2500, 1, 9);
        Assert.Equal(new IoTotals(50, 0, 2, 0, 40, 500, 1, 3), IoTotals.Growth(before, now));
        Assert.Equal(IoTotals.Zero, IoTotals.Growth(now, now));
    }
}
