using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

/// <summary>
/// A VM with a disk on one node (scripted guests: no device yet): its first start binds the disk to the image's identity
/// and the journal keeps it; a later boot on a file that is not that image (a namesake, or none) fails, naming why.
/// </summary>
public sealed class VmActorDiskTests : TestKit, IDisposable
{
    private readonly ScriptedGuests _guests = new();
    private readonly IActorRef _manager;
    private readonly string _dir = Directory.CreateTempSubdirectory("vm-disks-").FullName;
    private readonly string _image;

    public VmActorDiskTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        _manager = Managers.Start(Sys, _guests);
        _image = Path.Combine(_dir, "a.img");
        File.WriteAllBytes(_image, new byte[4096]);
    }

    void IDisposable.Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        Dispose();
    }

    private T Ask<T>(object message) => _manager.Ask<T>(message, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    private VmSpec Spec() => Specs.Of("a") with { Disks = [new DiskSpec(_image, DiskImageFormat.Raw)] };

    private string BoundIdentity()
    {
        string? identity = null;
        AwaitAssert(() => identity = Assert.Single(Ask<VmInfo>(new GetVm("a")).Spec.Disks).Identity ?? throw new Exception("not bound yet"),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        return identity!;
    }

    [Fact]
    public void The_first_start_records_the_identity_found_beside_the_image()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec()));
        Ask<VmCommandAccepted>(new StartVm("a"));

        var identity = BoundIdentity();

        Assert.Equal(identity, File.ReadAllText(_image + ".cluster-id").Trim());
        Assert.Contains(Ask<VmEventList>(new GetVmEvents("a")).Events, e => e is VmDisksBound b && b.Identities.SequenceEqual([identity]));
        AwaitAssert(() => Assert.Equal("running", Assert.Single(_guests.Created).State));
    }

    [Fact]
    public void A_boot_on_a_namesake_fails_naming_the_path_and_both_identities()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec()));
        Ask<VmCommandAccepted>(new StartVm("a"));
        var identity = BoundIdentity();
        Ask<VmCommandAccepted>(new StopVm("a", StopMode.Forced));
        var other = Guid.NewGuid().ToString("D");
        File.WriteAllText(_image + ".cluster-id", other);

        Ask<VmCommandAccepted>(new StartVm("a"));

        AwaitAssert(() =>
        {
            var info = Ask<VmInfo>(new GetVm("a"));
            Assert.Equal(VmStatus.Crashed, info.Status);
            Assert.Contains(_image, info.Reason);
            Assert.Contains(identity, info.Reason);
            Assert.Contains(other, info.Reason);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Single(_guests.Created);
    }

    [Fact]
    public void A_boot_without_the_image_fails_naming_the_path()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec()));
        File.Delete(_image);

        Ask<VmCommandAccepted>(new StartVm("a"));

        AwaitAssert(() =>
        {
            var info = Ask<VmInfo>(new GetVm("a"));
            Assert.Equal(VmStatus.Crashed, info.Status);
            Assert.Contains($"does not see disk {_image}", info.Reason);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Empty(_guests.Created);
    }
}
