using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Backing chains built by qemu-img and qemu-io from a seed.</summary>
internal static class QemuChain
{
    /// <summary>
    /// A chain of <paramref name="depth"/> overlays over a base (raw or qcow2), each layer written with
    /// random qemu-io commands (pattern writes, write -z, discards); one layer of a deep chain is
    /// recompressed with qemu-img convert -c. Returns the top file.
    /// </summary>
    public static string Build(ScratchDir dir, Random random, int seed, int clusterSize, int depth, ulong size)
    {
        string cs = $"cluster_size={clusterSize}";
        bool rawBase = depth > 0 && random.Next(3) == 0;
        string current = dir.File(rawBase ? "base.raw" : "base.qcow2");
        string format = rawBase ? "raw" : "qcow2";
        if (rawBase)
            QemuTools.Img("create", "-q", "-f", "raw", current, size.ToString());
        else
            QemuTools.Img("create", "-q", "-f", "qcow2", "-o", cs, current, size.ToString());
        QemuTools.Io([.. QemuWorkload.QemuIoCommands(seed, size, 40, zeroes: !rawBase), "-f", format, current]);
        if (!rawBase)
        {
            // Compress the base: every allocated cluster becomes a compressed one.
            string compressed = dir.File("base-c.qcow2");
            QemuTools.Img("convert", "-q", "-c", "-f", "qcow2", "-O", "qcow2", "-o", cs, current, compressed);
            current = compressed;
            QemuTools.Io([.. QemuWorkload.QemuIoCommands(seed + 1000, size, 10), "-f", "qcow2", current]);
        }
        for (int layer = 1; layer <= depth; layer++)
        {
            string next = dir.File($"layer{layer}.qcow2");
            // Relative backing names, resolved against the overlay's directory.
            QemuTools.Img("create", "-q", "-f", "qcow2", "-o", cs, "-b", Path.GetFileName(current), "-F", format, next);
            QemuTools.Io([.. QemuWorkload.QemuIoCommands(seed * 31 + layer, size, 25), "-f", "qcow2", next]);
            current = next;
            format = "qcow2";
        }
        return current;
    }

    /// <summary>Equal bytes, or a failure naming the first differing offset.</summary>
    public static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int at = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(at == expected.Length, $"first difference at byte {at} (0x{at:x}): expected {(at < expected.Length ? expected[at] : 0)}, read {(at < actual.Length ? actual[at] : 0)}");
    }
}
