namespace Cluster.Vmm.Storage;

/// <summary>How <see cref="DiskImage.Create"/> lays out a new image.</summary>
/// <param name="BackingFile">qcow2 only: the backing file, stored as given (a relative name is
/// resolved against the new image's directory).</param>
/// <param name="BackingFormat">The backing file's format; null probes it.</param>
/// <param name="ClusterSize">qcow2 only: a power of two from 512 bytes to 2 MiB (default 64 KiB).</param>
public sealed record DiskCreateOptions(string? BackingFile = null, DiskFormat? BackingFormat = null, int ClusterSize = 65536);
