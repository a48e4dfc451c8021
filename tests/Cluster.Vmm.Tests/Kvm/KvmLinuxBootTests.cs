using System.Diagnostics;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Loaders.Linux;
using Cluster.Vmm.Memory;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Vmm.Tests.Kvm;

public sealed class KvmLinuxBootTests(ITestOutputHelper output)
{
    public const string Marker = "CLUSTER-LINUX-BOOT-OK";
    private const ulong RamSize = 256UL << 20;

    [LinuxBootFact]
    public void Debian_kernel_boots_by_the_64_bit_boot_protocol_to_the_initramfs_marker()
    {
        var kernel = BzImage.Parse(File.ReadAllBytes(LinuxBootAssets.Kernel!));
        var initrd = File.ReadAllBytes(LinuxBootAssets.Initramfs());
        using var kvm = KvmHypervisor.Open();
        using var vm = kvm.CreateVm(inKernelIrqchip: true);
        using var ram = HostMemory.Allocate(RamSize);
        vm.SetUserMemoryRegion(0, 0, ram, MemoryRegionFlags.None);
        var vcpu = vm.CreateVcpu(0);
        var layout = LinuxLoader.Load(vm.Memory, vcpu, kernel, initrd,
            "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=t panic=-1 i8042.nokbd i8042.noaux");
        Assert.Equal(LinuxLoader.KernelAddress + 0x200, layout.EntryPoint);

        var serial = new TestSerialPort(vm);
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(LinuxBootAssets.TimeoutSeconds);
        using var watchdog = new Timer(_ => vcpu.Kick(), null, deadline, Timeout.InfiniteTimeSpan);
        VcpuExit exit;
        var counts = new Dictionary<string, int>();
        while (true)
        {
            exit = vcpu.Run();
            string key = exit.Kind + (exit.Kind is VcpuExitKind.IoIn or VcpuExitKind.IoOut ? $"/{exit.Port:x}" : exit.Kind is VcpuExitKind.MmioRead or VcpuExitKind.MmioWrite ? $"/{exit.Address:x}" : "");
            counts[key] = counts.GetValueOrDefault(key) + 1;
            if (exit.Kind == VcpuExitKind.IoOut && TestSerialPort.Handles(exit.Port)) serial.Write(exit.Port, (byte)exit.Data);
            else if (exit.Kind == VcpuExitKind.IoIn) vcpu.CompleteRead(TestSerialPort.Handles(exit.Port) ? serial.Read(exit.Port) : ulong.MaxValue);
            else if (exit.Kind == VcpuExitKind.MmioRead) vcpu.CompleteRead(0);
            else if (exit.Kind is VcpuExitKind.IoOut or VcpuExitKind.MmioWrite) continue;
            else break;
        }
        string console = serial.Output;
        output.WriteLine($"stopped on {exit} after {clock.Elapsed.TotalSeconds:F1} s; console:");
        output.WriteLine(console);
        output.WriteLine(string.Join(", ", counts.OrderByDescending(c => c.Value).Take(20).Select(c => $"{c.Key}:{c.Value}")));
        var r = vcpu.GetRegisters();
        var sr = vcpu.GetSpecialRegisters();
        output.WriteLine($"rip {r.Rip:x} rsp {r.Rsp:x} cr0 {sr.Cr0:x} cr3 {sr.Cr3:x} cr4 {sr.Cr4:x} efer {sr.Efer:x} rflags {r.Rflags:x}");
        var code = new byte[64];
        vm.Memory.Read(r.Rip - 32, code);
        output.WriteLine("code at rip-32: " + Convert.ToHexString(code));
        Assert.Contains(Marker, console);
        Assert.Equal(VcpuExitKind.Shutdown, exit.Kind); // poweroff -f, init exits, panic=-1 reboot=t: a triple fault
    }
}
