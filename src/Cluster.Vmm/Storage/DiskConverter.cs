namespace Cluster.Vmm.Storage;

/// <summary>
/// Copies the guest-visible contents of one image into a new one of another (or the same) format,
/// flattening any backing chain. All-zero chunks are skipped, so the copy stays sparse.
/// </summary>
internal static class DiskConverter
{
    private const int Chunk = 1 << 20;

    public static void Convert(string input, string output, DiskFormat to, DiskCreateOptions? options, IProgress<(ulong Done, ulong Total)>? progress)
    {
        if (Path.GetFullPath(input) == Path.GetFullPath(output))
            throw new VmmException($"cannot convert {input} onto itself", "disk-convert");
        using var source = DiskImage.Open(input, null, readOnly: true, DiskCacheMode.Writeback);
        DiskImage.Create(output, to, source.VirtualSize, new DiskCreateOptions(ClusterSize: options?.ClusterSize ?? 65536));
        using var target = DiskImage.Open(output, to, readOnly: false, DiskCacheMode.Writeback);
        ulong total = source.VirtualSize;
        var buffer = new byte[Chunk];
        for (ulong at = 0; at < total; at += Chunk)
        {
            var span = buffer.AsSpan(0, (int)Math.Min(Chunk, total - at));
            source.Read(at, span);
            if (span.ContainsAnyExcept((byte)0))
                target.Write(at, span);
            progress?.Report((at + (ulong)span.Length, total));
        }
        target.Flush();
    }
}
