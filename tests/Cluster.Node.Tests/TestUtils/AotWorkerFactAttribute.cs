using Cluster.Vmm.Native;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// A fact that runs the NativeAOT worker (<see cref="Executables.AotWorker"/>); skipped with the reason where cluster-node's build
/// did not make it (no clang or gcc, or SkipVmmWorkerAot=true), and, with <see cref="Root"/> or <see cref="Kvm"/>, where the test
/// is not root or has no working /dev/kvm.
/// </summary>
public sealed class AotWorkerFactAttribute : FactAttribute
{
    public AotWorkerFactAttribute()
    {
        if (Executables.AotWorker is null)
            Skip = "the NativeAOT worker is not built (vmm-worker-aot/vmm-worker beside cluster-node: the build skips it without clang or gcc, "
                + "or with SkipVmmWorkerAot=true)";
    }

    /// <summary>Whether the test needs root (it starts the worker as another user).</summary>
    public bool Root
    {
        get => false;
        init
        {
            if (value && Skip is null && UserSwitch.EffectiveUid != 0)
                Skip = $"needs root to start a worker as another user (this test runs as uid {UserSwitch.EffectiveUid})";
        }
    }

    /// <summary>Whether the test needs a working /dev/kvm.</summary>
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
