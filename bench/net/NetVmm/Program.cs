using System.Runtime.InteropServices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;

// NetVmm BACKEND TAP MAC ELF GUEST-ARGS...: one machine with one virtio-net NIC on tap TAP (created here), booting
// ELF with GUEST-ARGS; the serial console goes to stdout. Ends when the guest exits or on SIGTERM/SIGINT.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: NetVmm emulated|kvm TAP MAC ELF [GUEST-ARGS...]");
    return 4;
}
var kind = args[0] == "kvm" ? BackendKind.Kvm : BackendKind.Emulated;
using var hypervisor = HypervisorFactory.Create(kind, out _);
using var machine = Machine.Create(hypervisor, new MachineConfig
{
    MemoryBytes = 64UL << 20, Image = new ElfGuestImage(args[3]), Args = args[4..], Nics = [new NicConfig(args[2], args[1])],
});
var stdout = Console.OpenStandardOutput();
machine.Serial.Output += bytes =>
{
    lock (stdout)
    {
        stdout.Write(bytes);
        stdout.Flush();
    }
};
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; machine.Stop(); });
using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; machine.Stop(); });
machine.Start();
machine.WaitForExit(Timeout.InfiniteTimeSpan);
foreach (var (name, value) in machine.Devices.Nics.Single().Counters.Where(kv => kv.Value != 0))
    Console.Error.WriteLine($"counter {name}={value}");
return machine.Exit?.ExitStatus ?? 1;
