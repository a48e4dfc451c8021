using Cluster.Actors.Runtime;
using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Storage;
using Xunit;

namespace Cluster.Actors.Tests.Runtime;

/// <summary>A host's factory creates machines only from files under its image directories.</summary>
public sealed class MachineGuestRuntimeFactoryImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("factory-images-").FullName;
    private readonly EmulatedHypervisor _hypervisor = new();

    public void Dispose()
    {
        _hypervisor.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static VmSpec Spec(GuestImageSpec image, params DiskSpec[] disks) =>
        new("v1", "v1", 1, 8UL << 20, image, [], new Dictionary<string, string>(), null, RestartPolicy.Never) { Disks = disks };

    [Fact]
    public void A_disk_outside_the_image_directories_is_refused_before_the_machine_is_made()
    {
        var factory = new MachineGuestRuntimeFactory(_hypervisor, new ImageDirectories([_dir]));
        var e = Assert.Throws<VmmException>(() => factory.Create(Spec(new BuiltInImage("hello"), new DiskSpec("/dev/zero"))));
        Assert.StartsWith("image path /dev/zero refused: it is outside the allowed image directories", e.Message);
        e = Assert.Throws<VmmException>(() => factory.Create(Spec(new ElfImage("/etc/hostname"))));
        Assert.StartsWith("image path /etc/hostname refused", e.Message);
    }

    [Fact]
    public void A_built_in_guest_with_a_disk_inside_is_created()
    {
        string disk = Path.Combine(_dir, "a.img");
        DiskImage.Create(disk, DiskFormat.Raw, 1 << 20);
        var factory = new MachineGuestRuntimeFactory(_hypervisor, new ImageDirectories([_dir]));
        using var guest = factory.Create(Spec(new BuiltInImage("hello"), new DiskSpec(disk)));
        Assert.NotNull(guest);
    }
}
