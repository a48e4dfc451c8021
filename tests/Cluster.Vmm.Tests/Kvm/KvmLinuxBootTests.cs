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
    private const string Halted = "reboot: System halted";
    private const ulong RamSize = 256UL << 20;

    /// <summary>Ports without a device read as all ones, except the CMOS data port: 0 there means "no update in
    /// progress", so the kernel's RTC read does not spin on it.</summary>
    private static ulong ReadPort(TestSerialPort serial, ushort port) =>
        TestSerialPort.Handles(port) ? serial.Read(port) : port == CmosData ? 0 : ulong.MaxValue;

    private const ushort CmosData = 0x71;

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
            "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=t panic=-1 pci=off no_timer_check i8042.nokbd i8042.noaux");
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
            if (exit.Kind == VcpuExitKind.IoOut && TestSerialPort.Handles(exit.Port))
            {
                serial.Write(exit.Port, (byte)exit.Data);
                if (exit.Data == '\n' && serial.Output.Contains(Halted)) break;
            }
            else if (exit.Kind == VcpuExitKind.IoIn) vcpu.CompleteRead(ReadPort(serial, exit.Port));
            else if (exit.Kind == VcpuExitKind.MmioRead) vcpu.CompleteRead(0);
            else if (exit.Kind is VcpuExitKind.IoOut or VcpuExitKind.MmioWrite) continue;
            else break;
        }
        string console = serial.Output;
        output.WriteLine($"stopped on {exit} after {clock.Elapsed.TotalSeconds:F1} s; console:");
        output.WriteLine(console);
        output.WriteLine("exits: " + string.Join(", ", counts.OrderByDescending(c => c.Value).Take(20).Select(c => $"{c.Key}:{c.Value}")));
        var r = vcpu.GetRegisters();
        var sr = vcpu.GetSpecialRegisters();
        output.WriteLine($"last registers: rip {r.Rip:x} rsp {r.Rsp:x} cr0 {sr.Cr0:x} cr3 {sr.Cr3:x} cr4 {sr.Cr4:x} efer {sr.Efer:x} rflags {r.Rflags:x}");
        Assert.Contains(Marker, console);
        // poweroff -f without ACPI halts: the kernel says so, then idles in HLT inside KVM's in-kernel irqchip.
        Assert.Contains(Halted, console);
        Assert.True(console.IndexOf(Marker, StringComparison.Ordinal) < console.IndexOf(Halted, StringComparison.Ordinal));
    }
}
