using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Checks made by qemu-img on an image.</summary>
internal static class QemuAssert
{
    /// <summary>qemu-img check finds no errors and no leaks.</summary>
    public static void ChecksClean(string image)
    {
        var (exit, stdout, stderr) = QemuTools.Run("qemu-img", ["check", image]);
        Assert.True(exit == 0 && stdout.Contains("No errors were found"), $"qemu-img check {image} exited {exit}:\n{stdout}\n{stderr}");
    }

    /// <summary>qemu-img compare finds the image equal to a raw file.</summary>
    public static void ComparesEqual(string image, string raw)
    {
        var (exit, stdout, stderr) = QemuTools.Run("qemu-img", ["compare", "-F", "raw", image, raw]);
        Assert.True(exit == 0, $"qemu-img compare {image} {raw} exited {exit}:\n{stdout}\n{stderr}");
    }
}
