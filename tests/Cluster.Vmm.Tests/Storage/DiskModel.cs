using Cluster.Vmm.Storage;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>
/// A seeded random workload applied both to an image and to a flat byte array (the raw model of
/// what the guest should read): writes of random data, zeroing (with and without unmap) and
/// discards, all sector-aligned and crossing cluster boundaries.
/// </summary>
internal sealed class DiskModel(byte[] bytes)
{
    public byte[] Bytes { get; } = bytes;

    public void Run(IDiskImage image, int seed, int operations, ulong clusterSize)
    {
        var random = new Random(seed);
        ulong size = (ulong)Bytes.Length;
        for (int i = 0; i < operations; i++)
        {
            var (offset, length) = QemuWorkload.Range(random, size);
            switch (random.Next(10))
            {
                case < 7:
                    var data = new byte[length];
                    random.NextBytes(data);
                    image.Write(offset, data);
                    data.CopyTo(Bytes, (int)offset);
                    break;
                case < 9:
                    bool unmap = random.Next(2) == 0;
                    image.WriteZeroes(offset, length, unmap);
                    Array.Clear(Bytes, (int)offset, (int)length);
                    break;
                default:
                    image.Discard(offset, length);
                    // Discard drops whole clusters only (they then read as zeroes); the rest is kept.
                    ulong first = (offset + clusterSize - 1) / clusterSize * clusterSize;
                    ulong end = (offset + length) / clusterSize * clusterSize;
                    if (end > first)
                        Array.Clear(Bytes, (int)first, (int)(end - first));
                    break;
            }
        }
    }

    /// <summary>Writes the model to a raw file.</summary>
    public string Save(string path)
    {
        File.WriteAllBytes(path, Bytes);
        return path;
    }
}
