namespace Cluster.Vmm.Kvm.Interop;

/// <summary>
/// Marks a blittable struct that mirrors a kernel struct, with the C type name it mirrors
/// (<c>struct kvm_regs</c>). The header test compiles a C program against &lt;linux/kvm.h&gt; and
/// compares the size and every field offset of each marked struct. A struct mirroring an anonymous
/// member of another struct (the exit parts of kvm_run) names the member path instead, with
/// <see cref="Parent"/> set to the enclosing C type.
/// </summary>
[AttributeUsage(AttributeTargets.Struct)]
internal sealed class KernelStructAttribute(string cName) : Attribute
{
    /// <summary>The C type (<c>struct kvm_run</c>) or, for an anonymous member, its member path (<c>io</c>).</summary>
    public string CName { get; } = cName;

    /// <summary>For an anonymous member: the C type that contains it.</summary>
    public string? Parent { get; init; }

    /// <summary>The C# struct mirrors only the start of the C struct (kvm_run), so sizes are not compared.</summary>
    public bool IsPrefix { get; init; }
}
