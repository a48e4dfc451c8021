using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

public class MigrationHelloTests
{
    private static MigrationHello Hello(ulong memory = 32UL << 20, BackendKind backend = BackendKind.Emulated, CpuModel? cpu = null) =>
        new(MigrationProtocol.Version, 42, 2, backend, cpu ?? new EmulatedHypervisor().CpuModel,
            new MachineConfig { Vcpus = 2, MemoryBytes = memory, Image = new BuiltInGuestImage("counter"), Args = ["5", "x"] });

    [Fact]
    public void Round_trips_through_bytes()
    {
        var hello = Hello();
        var back = MigrationHello.FromBytes(hello.ToBytes());
        Assert.Equal((hello.Version, hello.Session, hello.Connections, hello.Backend), (back.Version, back.Session, back.Connections, back.Backend));
        Assert.Equal(hello.Cpu.Vendor, back.Cpu.Vendor);
        Assert.Equal(hello.Cpu.Features, back.Cpu.Features);
        Assert.Equal((hello.Config.Vcpus, hello.Config.MemoryBytes, hello.Config.Image), (back.Config.Vcpus, back.Config.MemoryBytes, back.Config.Image));
        Assert.Equal(hello.Config.Args, back.Config.Args);
    }

    [Fact]
    public void Refuses_another_protocol_version()
    {
        var bytes = (Hello() with { Version = MigrationProtocol.Version + 1 }).ToBytes();
        var e = Assert.Throws<VmmException>(() => MigrationHello.FromBytes(bytes));
        Assert.Contains("version", e.Message);
    }

    [Fact]
    public void The_target_refuses_another_backend_a_missing_cpu_feature_and_an_unexpected_memory_size()
    {
        using var hv = new EmulatedHypervisor();
        var target = new MigrationTarget(hv, Hello().Config);
        Assert.Null(target.CheckCompatibility(Hello()));
        Assert.Contains("backend", target.CheckCompatibility(Hello(backend: BackendKind.Kvm)));
        Assert.Contains("avx512", target.CheckCompatibility(Hello(cpu: new CpuModel(hv.CpuModel.Vendor, [.. hv.CpuModel.Features, "avx512"]))));
        Assert.Contains("vendor", target.CheckCompatibility(Hello(cpu: new CpuModel("AuthenticAMD!", hv.CpuModel.Features))));
        Assert.Contains("memory size", target.CheckCompatibility(Hello(memory: 64UL << 20)));
    }
}
