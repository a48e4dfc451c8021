namespace Cluster.Vmm.Isolation;

/// <summary>
/// A cgroup operation failed: a file that cannot be written, a group that cannot be made or removed, a
/// process that cannot be moved. <see cref="VmmException.Operation"/> names the file or directory.
/// </summary>
public sealed class CgroupException : VmmException
{
    public CgroupException(string message, string? operation = null, int errno = 0, Exception? inner = null)
        : base(message, operation, errno, inner)
    {
    }
}
