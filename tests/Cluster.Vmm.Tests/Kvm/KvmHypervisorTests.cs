using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Xunit;

namespace Cluster.Vmm.Tests.Kvm;

public sealed class KvmHypervisorTests
{
    [Fact]
    public void TryOpen_of_a_missing_device_says_why()
    {
        Assert.False(KvmHypervisor.TryOpen(out var kvm, out var reason, "/nonexistent/kvm"));
        Assert.Null(kvm);
        Assert.Contains("/nonexistent/kvm", reason);
        Assert.Contains("errno 2", reason);
    }

    [Fact]
    public void TryOpen_of_a_device_that_is_not_kvm_says_why()
    {
        Assert.False(KvmHypervisor.TryOpen(out _, out var reason, "/dev/null"));
        Assert.Contains("KVM_GET_API_VERSION", reason);
    }

    [KvmFact]
    public void Open_reports_limits_and_the_cpu_model_of_the_host()
    {
        using var kvm = KvmHypervisor.Open();
        Assert.Equal(BackendKind.Kvm, kvm.Kind);
        Assert.True(kvm.MaxVcpus >= 1);
        Assert.True(kvm.MaxMemorySlots >= 32);
        Assert.Contains(kvm.CpuModel.Vendor, new[] { "AuthenticAMD", "GenuineIntel" });
        Assert.Contains("lm", kvm.CpuModel.Features);
    }
}
