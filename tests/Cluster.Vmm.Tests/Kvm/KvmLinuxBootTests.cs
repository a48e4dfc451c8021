using System.Diagnostics;
using System.Text;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Xunit;
using Xunit.Abstractions;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>Debian's kernel booted directly (Linux boot protocol) on KVM through the shared Machine: UART, vCPU thread, loader.</summary>
public sealed class KvmLinuxBootTests(ITestOutputHelper output)
{
    public const string Marker = "CLUSTER-LINUX-BOOT-OK";
    private const string Halted = "reboot: System halted";
    // quiet: every console byte is a VM exit, which the nested lane pays milliseconds for ("System halted" is an emergency message, still shown).
    private const string CommandLine = "console=ttyS0 quiet reboot=t panic=-1 pci=off no_timer_check i8042.nokbd i8042.noaux";

    [LinuxBootFact]
    public void Debian_kernel_boots_by_the_64_bit_boot_protocol_to_the_initramfs_marker()
    {
        using var kvm = KvmHypervisor.Open();
        using var machine = VmMachine.Create(kvm, new MachineConfig
        {
            Vcpus = 1,
            MemoryBytes = 256UL << 20,
            Image = new LinuxGuestImage(LinuxBootAssets.Kernel!, LinuxBootAssets.Initramfs(), CommandLine),
        });
        machine.Bus.RegisterPorts(CmosWithoutClock.Port, 2, new CmosWithoutClock());
        var console = new StringBuilder();
        using var halted = new ManualResetEventSlim();
        machine.Serial.Output += bytes =>
        {
            lock (console)
            {
                console.Append(Encoding.ASCII.GetString(bytes));
                if (console.ToString().Contains(Halted)) halted.Set();
            }
        };
        var clock = Stopwatch.StartNew();
        machine.Start();
        // poweroff -f without ACPI halts: the kernel says so, then idles in HLT inside KVM's in-kernel irqchip.
        bool sawHalt = halted.Wait(TimeSpan.FromSeconds(LinuxBootAssets.TimeoutSeconds)) || machine.Exit is not null;
        machine.Stop();
        string text;
        lock (console) text = console.ToString();
        output.WriteLine($"{(sawHalt ? "halted" : "timed out")} after {clock.Elapsed.TotalSeconds:F1} s, machine exit: {machine.Exit}; console:");
        output.WriteLine(text);
        Assert.Contains(Marker, text);
        Assert.Contains(Halted, text);
        Assert.True(text.IndexOf(Marker, StringComparison.Ordinal) < text.IndexOf(Halted, StringComparison.Ordinal));
    }

    /// <summary>CMOS at 0x70-0x71 that reads 0 ("no update in progress"), so the kernel's RTC read does not spin
    /// on the all-ones of an empty port; there is no real-time clock behind it.</summary>
    internal sealed class CmosWithoutClock : IPortDevice
    {
        public const ushort Port = 0x70;

        public ulong Read(ushort offset, int size) => 0;

        public void Write(ushort offset, int size, ulong value)
        {
        }
    }
}
