namespace Cluster.Vmm;

/// <summary>
/// The one error type of the VMM: an expected failure of a VMM operation (bad input, a refused
/// ioctl, a guest image that cannot be loaded). <see cref="Errno"/> carries the OS error where
/// there is one and <see cref="Operation"/> names what failed (an ioctl name, a loader step).
/// </summary>
public class VmmException : Exception
{
    public VmmException(string message, string? operation = null, int errno = 0, Exception? inner = null)
        : base(message, inner)
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>What failed: an ioctl name such as KVM_CREATE_VM, or a step such as "elf-load".</summary>
    public string? Operation { get; }

    /// <summary>The OS error number, or 0 where none applies.</summary>
    public int Errno { get; }
}
