using Akka.Configuration;
using Cluster.Actors.Runtime.Workers;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Xunit;

namespace Cluster.Actors.Tests.Runtime;

public sealed class EmulatorCodePagesSettingTests
{
    [Fact]
    public void The_node_setting_reaches_the_workers_and_the_emulated_backend()
    {
        var config = ConfigurationFactory.ParseString("cluster-hypervisor.emulator.max-code-pages = 64");
        Assert.Equal(64, WorkerSettings.From(config, "/d", cluster: false).EmulatorCodePages);
        using var hypervisor = (EmulatedHypervisor)HypervisorFactory.Create(BackendKind.Emulated, out _, WorkerSettings.EmulatorCodePagesOf(config));
        Assert.Equal(64, hypervisor.MaxCodePages);
    }

    [Fact]
    public void Defaults_to_4096_pages_and_refuses_zero()
    {
        Assert.Equal(4096, WorkerSettings.EmulatorCodePagesOf(ConfigurationFactory.Empty));
        Assert.Throws<ArgumentException>(() => WorkerSettings.EmulatorCodePagesOf(ConfigurationFactory.ParseString("cluster-hypervisor.emulator.max-code-pages = 0")));
    }
}
