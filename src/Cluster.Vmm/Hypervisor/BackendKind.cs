namespace Cluster.Vmm.Hypervisor;

/// <summary>Which CPU backend runs guest code.</summary>
public enum BackendKind
{
    /// <summary>KVM when /dev/kvm opens and has what the VMM needs, else the emulator.</summary>
    Auto,
    /// <summary>The software x86-64 interpreter.</summary>
    Emulated,
    /// <summary>/dev/kvm; an error where it is missing.</summary>
    Kvm,
}
