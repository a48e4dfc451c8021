using Cluster.Contracts.Tests.TestUtils;
using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Tests.Vms;

public class VmSpecSerializationTests
{
    private static readonly MessagePackSerializerOptions Options =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>VmSpec as journals written before disks hold it: keys 0-9.</summary>
    [MessagePackObject]
    public sealed record VmSpecBeforeDisks(
        [property: Key(0)] string Id,
        [property: Key(1)] string Name,
        [property: Key(2)] int Vcpus,
        [property: Key(3)] ulong MemoryBytes,
        [property: Key(4)] GuestImageSpec Image,
        [property: Key(5)] IReadOnlyList<string> Args,
        [property: Key(6)] IReadOnlyDictionary<string, string> Labels,
        [property: Key(7)] string? AntiAffinityGroup,
        [property: Key(8)] RestartPolicy Restart,
        [property: Key(9)] int Priority);

    [Fact]
    public void Reads_a_spec_written_before_disks_existed_as_a_spec_without_disks()
    {
        var old = new VmSpecBeforeDisks("vm-1", "old", 2, 16 << 20, new BuiltInImage("hello"), ["a"],
            new Dictionary<string, string> { ["zone"] = "z1" }, "web", new RestartPolicy(RestartMode.OnFailure, 3), 5);
        var bytes = MessagePackSerializer.Serialize(old, Options);

        var spec = MessagePackSerializer.Deserialize<VmSpec>(bytes, Options);

        Assert.Equal(("vm-1", "old", 2, 16UL << 20, 5), (spec.Id, spec.Name, spec.Vcpus, spec.MemoryBytes, spec.Priority));
        Assert.Equal(new BuiltInImage("hello"), spec.Image);
        Assert.NotNull(spec.Disks);
        Assert.Empty(spec.Disks);
        Assert.NotNull(spec.Nics);
        Assert.Empty(spec.Nics);
    }

    [Fact]
    public void Keeps_nics_with_their_assigned_mac_address_and_mtu_through_a_round_trip()
    {
        var spec = Specs.Hello() with
        {
            Nics = [new Networks.NicSpec("lan", "02:11:22:33:44:55", "10.88.0.2", 1500), new Networks.NicSpec("phys", "52:54:00:00:00:01", null, 9000)],
        };

        var back = MessagePackSerializer.Deserialize<VmSpec>(MessagePackSerializer.Serialize(spec, Options), Options);

        Assert.Equal(spec.Nics, back.Nics);
    }

    [Fact]
    public void Keeps_disks_through_a_round_trip()
    {
        var spec = Specs.Hello() with
        {
            Disks = [new DiskSpec("/srv/a.qcow2", DiskImageFormat.Qcow2, true, DiskCache.None, "s1"), new DiskSpec("/srv/b.img", Identity: Guid.NewGuid().ToString())],
        };

        var back = MessagePackSerializer.Deserialize<VmSpec>(MessagePackSerializer.Serialize(spec, Options), Options);

        Assert.Equal(spec.Disks, back.Disks);
    }

    [Fact]
    public void Reads_a_disk_without_format_as_one_to_probe()
    {
        var back = MessagePackSerializer.Deserialize<DiskSpec>(MessagePackSerializer.Serialize(new DiskSpec("/srv/a.img"), Options), Options);

        Assert.Null(back.Format);
        Assert.Equal(DiskCache.Writeback, back.Cache);
    }
}
