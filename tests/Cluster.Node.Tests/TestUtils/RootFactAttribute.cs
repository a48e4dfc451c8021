using Cluster.Vmm.Native;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>A fact that needs root (it starts processes as another user); skipped with the reason elsewhere.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (UserSwitch.EffectiveUid != 0) Skip = $"needs root to start a worker as another user (this test runs as uid {UserSwitch.EffectiveUid})";
    }

    /// <summary>Whether the test needs a working /dev/kvm too (skipped with the reason where it has none).</summary>
    public bool Kvm
    {
        get => false;
        init
        {
            if (!value || Skip is not null) return;
            if (Cluster.Vmm.Kvm.KvmHypervisor.TryOpen(out var kvm, out var reason)) kvm!.Dispose();
            else Skip = $"KVM unavailable: {reason}";
        }
    }
}
