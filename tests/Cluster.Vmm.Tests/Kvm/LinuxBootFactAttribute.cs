using System.Diagnostics;
using Xunit;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>A hardware-KVM fact that boots Linux: it also needs a readable bzImage; skipped with the reason otherwise.</summary>
public sealed class LinuxBootFactAttribute : FactAttribute
{
    public LinuxBootFactAttribute()
    {
        Skip = new KvmHardwareFactAttribute().Skip ?? (LinuxBootAssets.Kernel is null ? LinuxBootAssets.MissingKernelReason : null);
    }
}

/// <summary>
/// The kernel and initramfs of the Linux boot test: CLUSTER_LINUX_KERNEL or the newest readable /boot/vmlinuz-*;
/// CLUSTER_LINUX_INITRAMFS or one built once by tests/kvm/make-boot-initramfs. CLUSTER_LINUX_BOOT_TIMEOUT
/// (seconds, default 120) bounds the boot; nested under TCG it is slower.
/// </summary>
internal static class LinuxBootAssets
{
    private static readonly Lazy<string> Built = new(BuildInitramfs);

    public static string? Kernel { get; } = FindKernel();

    public static string MissingKernelReason =>
        "no readable Linux bzImage: set CLUSTER_LINUX_KERNEL or install linux-image-amd64 (/boot/vmlinuz-*)";

    public static int TimeoutSeconds =>
        int.TryParse(Environment.GetEnvironmentVariable("CLUSTER_LINUX_BOOT_TIMEOUT"), out int s) ? s : 120;

    public static string Initramfs() => Environment.GetEnvironmentVariable("CLUSTER_LINUX_INITRAMFS") is { Length: > 0 } path ? path : Built.Value;

    private static string? FindKernel()
    {
        var candidates = Environment.GetEnvironmentVariable("CLUSTER_LINUX_KERNEL") is { Length: > 0 } path
            ? [path]
            : Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").OrderDescending().ToArray() : [];
        foreach (var c in candidates)
        {
            try
            {
                using var f = File.OpenRead(c);
                return c;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    private static string BuildInitramfs()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests/kvm/make-boot-initramfs"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("tests/kvm/make-boot-initramfs not found above " + AppContext.BaseDirectory);
        string output = Path.Combine(Path.GetTempPath(), $"cluster-boot-{Environment.ProcessId}.cpio");
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(dir.FullName, "tests/kvm/make-boot-initramfs"));
        psi.ArgumentList.Add(output);
        using var p = Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"make-boot-initramfs failed: {stderr}");
        return output;
    }
}
