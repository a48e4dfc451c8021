using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.Kvm;
using Xunit;
using Xunit.Abstractions;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Devices.VirtioBlock;

/// <summary>
/// Debian's stock kernel finds our virtio-blk device on PCI, mounts the ext4 image the test made with mkfs.ext4 and
/// debugfs, checks the files the test put there, writes two of its own, syncs and powers off; the test then reads
/// them on the host with debugfs and checks the file system with e2fsck. The guest side is tests/kvm/make-disk-initramfs
/// (validated against QEMU's virtio-blk-pci). Runs where Linux boots on hardware KVM (the nested lane).
/// </summary>
public sealed class LinuxDiskTests(ITestOutputHelper output)
{
    private const string Halted = "reboot: System halted";
    private const int Vcpus = 2;

    [LinuxDiskFact]
    public void Debian_kernel_mounts_an_ext4_image_on_virtio_blk_and_its_writes_reach_the_image()
    {
        using var scenario = new LinuxDiskScenario();
        // quiet: each console byte is a VM exit, and the nested lane pays milliseconds for one; /init prints the lines checked here.
        string commandLine = "console=ttyS0 quiet reboot=t panic=-1 no_timer_check i8042.nokbd i8042.noaux " + scenario.CommandLine;
        var console = new StringBuilder();
        var clock = Stopwatch.StartNew();
        bool sawEnd;
        MachineExit? exit;
        using (var kvm = KvmHypervisor.Open())
        using (var machine = VmMachine.Create(kvm, new MachineConfig
               {
                   Vcpus = Vcpus,
                   MemoryBytes = 256UL << 20,
                   Image = new LinuxGuestImage(LinuxBootAssets.Kernel!, LinuxDiskAssets.Initramfs(), commandLine),
                   Disks = [new DiskConfig(scenario.Image)],
               }))
        using (var ended = new ManualResetEventSlim())
        {
            machine.Bus.RegisterPorts(KvmLinuxBootTests.CmosWithoutClock.Port, 2, new KvmLinuxBootTests.CmosWithoutClock());
            machine.Serial.Output += bytes =>
            {
                lock (console)
                {
                    console.Append(Encoding.ASCII.GetString(bytes));
                    if (console.ToString().Contains(Halted)) ended.Set();
                }
            };
            machine.Start();
            // poweroff -f without ACPI halts: the kernel says so, then idles in HLT inside KVM's in-kernel irqchip.
            sawEnd = ended.Wait(TimeSpan.FromSeconds(LinuxBootAssets.TimeoutSeconds)) || machine.Exit is not null;
            machine.Stop();
            exit = machine.Exit;
        }
        string text;
        lock (console) text = console.ToString().Replace("\r", "");
        output.WriteLine($"{(sawEnd ? "halted" : "timed out")} after {clock.Elapsed.TotalSeconds:F1} s, machine exit: {exit}; console:");
        output.WriteLine(text);

        // The kernel saw the machine that the loader's MP table describes: every vCPU and the I/O APIC.
        Assert.Contains("Intel MultiProcessor Specification v1.4", text);
        Assert.Contains($"IOAPIC[0]: apic_id {Vcpus},", text);
        Assert.Contains($"smp: Brought up 1 node, {Vcpus} CPUs", text);
        scenario.Verify(text, sawEnd);
    }

    /// <summary>The same guest and image on QEMU's virtio-blk-pci (the peer), to show that the scenario itself is sound.
    /// Set CLUSTER_DISK_QEMU_PEER=1 to run it (QEMU TCG, about 10 s of CPU).</summary>
    [QemuPeerFact]
    public void The_same_guest_passes_on_qemus_virtio_blk_pci()
    {
        using var scenario = new LinuxDiskScenario();
        var psi = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[]
                 {
                     "-accel", "tcg", "-m", "512", "-nographic", "-no-reboot", "-kernel", LinuxBootAssets.Kernel!, "-initrd", LinuxDiskAssets.Initramfs(),
                     "-append", "console=ttyS0 panic=-1 " + scenario.CommandLine,
                     "-drive", $"if=none,id=d0,file={scenario.Image},format=raw", "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
                 })
            psi.ArgumentList.Add(a);
        using var qemu = Process.Start(psi)!;
        qemu.StandardInput.Close();
        var stderr = qemu.StandardError.ReadToEndAsync();
        var stdout = qemu.StandardOutput.ReadToEndAsync();
        bool ended = qemu.WaitForExit(TimeSpan.FromSeconds(LinuxBootAssets.TimeoutSeconds));
        if (!ended) qemu.Kill();
        qemu.WaitForExit();
        string text = (stdout.Result + stderr.Result).Replace("\r", "");
        output.WriteLine(text);
        scenario.Verify(text, ended);
    }
}

/// <summary>
/// The disk test's two halves on the host: an ext4 image (mkfs.ext4) holding /host.txt (a fresh token) and /host.bin
/// (512 KiB whose md5 the guest checks), the kernel parameters that tell the guest both; then, after the guest ran
/// tests/kvm/make-disk-initramfs's /init, its verdict on the console and its files /guest.txt ("guest:TOKEN") and
/// /guest.bin (1 MiB of "TOKEN\n") read back from the image with debugfs, and e2fsck -fn finding nothing to fix.
/// </summary>
internal sealed class LinuxDiskScenario : IDisposable
{
    public const string PassMarker = "CLUSTER-DISK-PASS", FailMarker = "CLUSTER-DISK-FAIL";
    private const int HostBinBytes = 512 << 10, GuestBinBytes = 1 << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("cluster-linux-disk-").FullName;
    private readonly string _token = "tok-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public LinuxDiskScenario()
    {
        var hostBin = new byte[HostBinBytes];
        new Random(1234).NextBytes(hostBin);
        Image = Path.Combine(_dir, "disk.img");
        using (var f = File.Create(Image)) f.SetLength(64L << 20);
        File.WriteAllText(Path.Combine(_dir, "host.txt"), _token);
        File.WriteAllBytes(Path.Combine(_dir, "host.bin"), hostBin);
        E2fs.Run("mkfs.ext4", "-F", "-q", "-t", "ext4", "-L", "clusterdisk", Image);
        File.WriteAllText(Path.Combine(_dir, "debugfs.cmds"), $"write {_dir}/host.txt host.txt\nwrite {_dir}/host.bin host.bin\n");
        E2fs.Run("debugfs", "-w", "-f", Path.Combine(_dir, "debugfs.cmds"), Image);
        Assert.Equal(_token, E2fs.Cat(Image, "/host.txt"));
        CommandLine = $"cluster_disk_token={_token} cluster_disk_md5={Convert.ToHexStringLower(MD5.HashData(hostBin))}";
    }

    /// <summary>The raw ext4 image, the guest's /dev/vda.</summary>
    public string Image { get; }

    /// <summary>The kernel parameters for the guest's /init.</summary>
    public string CommandLine { get; }

    /// <summary>Checks the guest's verdict on <paramref name="console"/> and its writes in the image.</summary>
    public void Verify(string console, bool ended)
    {
        var failLine = console.Split('\n').FirstOrDefault(l => l.StartsWith(FailMarker, StringComparison.Ordinal));
        Assert.True(failLine is null, $"the guest reported: {failLine}");
        Assert.True(console.Contains(PassMarker), ended
            ? "the guest ended without reaching the disk test's marker (see the console above)"
            : $"no marker after {LinuxBootAssets.TimeoutSeconds} s (CLUSTER_LINUX_BOOT_TIMEOUT)");
        Assert.True(ended, "the guest printed its marker but did not power off");

        Assert.Equal($"guest:{_token}\n", E2fs.Cat(Image, "/guest.txt"));
        string dumped = Path.Combine(_dir, "guest.bin");
        E2fs.Run("debugfs", "-R", $"dump /guest.bin {dumped}", Image);
        Assert.True(File.Exists(dumped), "debugfs found no /guest.bin in the image");
        var expected = new byte[GuestBinBytes];
        var line = Encoding.ASCII.GetBytes(_token + "\n");
        for (int i = 0; i < expected.Length; i++) expected[i] = line[i % line.Length];
        var got = File.ReadAllBytes(dumped);
        Assert.Equal(expected.Length, got.Length);
        Assert.True(expected.AsSpan().SequenceEqual(got), $"/guest.bin differs from the pattern first at byte {expected.AsSpan().CommonPrefixLength(got)}");
        // Unmounted cleanly and consistent: e2fsck -fn finds nothing to fix (exit 0).
        E2fs.Run("e2fsck", "-f", "-n", Image);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>Runs only with CLUSTER_DISK_QEMU_PEER=1, qemu-system-x86_64, e2fsprogs, a bzImage and the disk initramfs.</summary>
public sealed class QemuPeerFactAttribute : FactAttribute
{
    public QemuPeerFactAttribute()
    {
        Skip = Environment.GetEnvironmentVariable("CLUSTER_DISK_QEMU_PEER") != "1"
            ? "the QEMU peer run is opt-in: CLUSTER_DISK_QEMU_PEER=1 (QEMU TCG, about 10 s of CPU)"
            : (LinuxBootAssets.Kernel is null ? LinuxBootAssets.MissingKernelReason : null) ?? E2fs.MissingReason ?? LinuxDiskAssets.MissingReason;
    }
}

/// <summary>
/// Skipped unless Linux boots on hardware KVM here (<see cref="LinuxBootFactAttribute"/>), e2fsprogs' mkfs.ext4,
/// debugfs and e2fsck are found, and the disk initramfs is given (CLUSTER_LINUX_DISK_INITRAMFS) or can be built
/// (Debian's kernel modules under /lib/modules).
/// </summary>
public sealed class LinuxDiskFactAttribute : FactAttribute
{
    public LinuxDiskFactAttribute()
    {
        Skip = new LinuxBootFactAttribute().Skip ?? E2fs.MissingReason ?? LinuxDiskAssets.MissingReason;
    }
}

/// <summary>The initramfs of <see cref="LinuxDiskTests"/>: CLUSTER_LINUX_DISK_INITRAMFS or built once by tests/kvm/make-disk-initramfs.</summary>
internal static class LinuxDiskAssets
{
    private const string Script = "tests/kvm/make-disk-initramfs";
    private static readonly Lazy<string> Built = new(Build);

    private static string? Given => Environment.GetEnvironmentVariable("CLUSTER_LINUX_DISK_INITRAMFS") is { Length: > 0 } p ? p : null;

    public static string? MissingReason
    {
        get
        {
            if (Given is { } given) return File.Exists(given) ? null : $"CLUSTER_LINUX_DISK_INITRAMFS={given} does not exist";
            if (ScriptDirectory() is null) return $"{Script} not found above {AppContext.BaseDirectory}";
            bool modules = Directory.Exists("/lib/modules")
                && Directory.GetDirectories("/lib/modules").Any(d => File.Exists(Path.Combine(d, "modules.dep")) && d.EndsWith("-amd64", StringComparison.Ordinal));
            return modules ? null : "no Debian kernel modules to build the disk initramfs from: install linux-image-amd64 or set CLUSTER_LINUX_DISK_INITRAMFS";
        }
    }

    public static string Initramfs() => Given ?? Built.Value;

    private static string? ScriptDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, Script))) dir = dir.Parent;
        return dir?.FullName;
    }

    private static string Build()
    {
        string root = ScriptDirectory() ?? throw new InvalidOperationException($"{Script} not found above {AppContext.BaseDirectory}");
        string output = Path.Combine(Path.GetTempPath(), $"cluster-disk-{Environment.ProcessId}.cpio");
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(root, Script));
        psi.ArgumentList.Add(output);
        using var p = Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"make-disk-initramfs failed: {stderr}");
        return output;
    }
}

/// <summary>e2fsprogs on the host: mkfs.ext4 makes the image, debugfs reads and writes files in it without a mount.</summary>
internal static class E2fs
{
    private static readonly string[] Tools = ["mkfs.ext4", "debugfs", "e2fsck"];

    public static string? MissingReason
    {
        get
        {
            var missing = Tools.Where(t => Find(t) is null).ToArray();
            return missing.Length == 0 ? null : $"{string.Join(", ", missing)} not found: apt-get install e2fsprogs";
        }
    }

    /// <summary>Runs the tool; its standard output, trimmed. A non-zero exit fails the test.</summary>
    public static string Run(string tool, params string[] args) => Exec(tool, args).Trim();

    /// <summary>The content of <paramref name="file"/> in the image, read by debugfs, byte for byte.</summary>
    public static string Cat(string image, string file) => Exec("debugfs", ["-R", $"cat {file}", image]);

    private static string Exec(string tool, string[] args)
    {
        var psi = new ProcessStartInfo(Find(tool) ?? throw new InvalidOperationException($"{tool} not found"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            throw new TimeoutException($"{tool} {string.Join(' ', args)} ran over 60 s");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}{stdout}");
        return stdout;
    }

    private static string? Find(string tool)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        return path.Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            .Select(d => Path.Combine(d, tool))
            .FirstOrDefault(File.Exists);
    }
}
