using Akka.Actor;
using Cluster.Actors.Hosting;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Hosting;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Tests.Hosting;

public sealed class NodeHostTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cluster-node-host", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_config_file_overrides_the_shipped_hocon_and_the_limits_follow_it()
    {
        Directory.CreateDirectory(_dir);
        var configFile = Path.Combine(_dir, "node.conf");
        await File.WriteAllTextAsync(configFile, "cluster-hypervisor.limits.max-vcpus = 1\nakka.loglevel = WARNING");
        using var host = NodeHost.Start(new NodeOptions(configFile, 0, Path.Combine(_dir, "data"), BackendKind.Emulated),
            HypervisorConfig.DefaultHoconDirectory);
        Assert.Equal("akka.ssl.tcp", host.Address.Protocol);
        Assert.True(host.Address.Port > 0);
        Assert.True(File.Exists(Path.Combine(_dir, "data", "journal.db")));
        var spec = new VmSpec("two", "two", 2, 4 << 20, new BuiltInImage("hello"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);
        var refusal = await host.Manager.Ask<ValidationFailed>(new CreateVm(spec), TimeSpan.FromSeconds(10));
        Assert.Equal("vcpus", refusal.Field);
        var accepted = await host.Manager.Ask<VmCommandAccepted>(new CreateVm(spec with { Vcpus = 1 }), TimeSpan.FromSeconds(10));
        Assert.Equal(VmStatus.Defined, accepted.Status);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
