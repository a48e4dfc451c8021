using Cluster.Actors.Disks;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Disks;

public sealed class DiskIdentityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("disk-identity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Image(string name = "a.img")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, new byte[4096]);
        return path;
    }

    [Fact]
    public void Sees_no_file_at_a_missing_path() =>
        Assert.Equal(new(Path.Combine(_dir, "none.img"), false, null), DiskIdentity.Look(Path.Combine(_dir, "none.img")));

    [Fact]
    public void Sees_an_image_without_identity_before_its_first_binding()
    {
        var image = Image();
        Assert.Equal(new(image, true, null), DiskIdentity.Look(image));
    }

    [Fact]
    public void Binding_creates_the_identity_beside_the_image_once_and_keeps_it()
    {
        var image = Image();
        var first = DiskIdentity.Bind([new DiskSpec(image)], "h1", out var problem);
        Assert.Null(problem);
        var identity = Assert.Single(first!);
        Assert.True(Guid.TryParseExact(identity, "D", out _));
        Assert.Equal(identity, File.ReadAllText(image + ".cluster-id").Trim());
        Assert.Equal(identity, Assert.Single(DiskIdentity.Bind([new DiskSpec(image)], "h1", out _)!));
        Assert.Equal(identity, DiskIdentity.Look(image).Identity);
        Assert.Single(Directory.GetFiles(_dir, "*.tmp").Concat(Directory.GetFiles(_dir, "*.cluster-id")));
    }

    [Fact]
    public void Binding_refuses_a_missing_image_naming_its_path()
    {
        var missing = Path.Combine(_dir, "gone.img");
        Assert.Null(DiskIdentity.Bind([new DiskSpec(missing)], "h2", out var problem));
        Assert.Equal($"h2 does not see disk {missing}", problem);
        Assert.False(File.Exists(missing + ".cluster-id"));
    }

    [Fact]
    public void Binding_refuses_a_namesake_naming_the_path_and_both_identities()
    {
        var image = Image();
        var theirs = Assert.Single(DiskIdentity.Bind([new DiskSpec(image)], "h1", out _)!);
        var mine = Guid.NewGuid().ToString("D");
        Assert.Null(DiskIdentity.Bind([new DiskSpec(image, Identity: mine)], "h1", out var problem));
        Assert.Contains(image, problem);
        Assert.Contains(theirs, problem);
        Assert.Contains(mine, problem);
    }

    [Fact]
    public void Binding_refuses_an_image_without_identity_when_the_vm_recorded_one()
    {
        var image = Image();
        Assert.Null(DiskIdentity.Bind([new DiskSpec(image, Identity: Guid.NewGuid().ToString("D"))], "h1", out var problem));
        Assert.Contains("identity is none", problem);
        Assert.False(File.Exists(image + ".cluster-id"));
    }

    [Fact]
    public void Binding_refuses_an_identity_file_that_holds_no_uuid()
    {
        var image = Image();
        File.WriteAllText(image + ".cluster-id", "garbage");
        Assert.Null(DiskIdentity.Bind([new DiskSpec(image)], "h1", out var problem));
        Assert.Contains("holds no UUID", problem);
    }

    [Fact]
    public void Binding_many_at_once_gives_every_caller_the_same_identity()
    {
        // Many rounds, each on a fresh image, with the binders released together: a create that can replace a file
        // that appeared meanwhile (rename, or .NET's no-overwrite move where hard links are refused) fails here.
        for (var round = 0; round < 20; round++)
        {
            var image = Image($"r{round}.img");
            using var start = new Barrier(8);
            var identities = Enumerable.Range(0, 8).AsParallel().WithDegreeOfParallelism(8)
                .Select(i =>
                {
                    start.SignalAndWait();
                    return DiskIdentity.Bind([new DiskSpec(image)], $"h{i}", out _)![0];
                })
                .ToList();
            Assert.Single(identities.Distinct());
            Assert.Equal(identities[0], File.ReadAllText(image + ".cluster-id").Trim());
        }
    }
}
