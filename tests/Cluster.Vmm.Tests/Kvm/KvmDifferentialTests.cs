using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>Every built-in guest gives the same console output and the same exit on KVM as on the emulator.</summary>
public sealed class KvmDifferentialTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static TheoryData<string, string[], int> Guests => new()
    {
        { "hello", ["one", "two words", "exit=5"], 1 },
        { "counter", ["25"], 1 },
        { "compute", [], 1 },
        { "abpages", ["2", "3"], 1 },
        { "dirtier", ["2", "0", "2"], 1 },
        { "smp", ["2000"], 2 },
        { "timer", ["20"], 1 },
        { "triple", [], 1 },
    };

    [KvmTheory]
    [MemberData(nameof(Guests))]
    public void Guest_output_and_exit_on_kvm_equal_those_on_the_emulator(string guest, string[] args, int vcpus)
    {
        var (emulatedExit, emulatedConsole) = Run(new EmulatedHypervisor(), guest, args, vcpus);
        var (kvmExit, kvmConsole) = Run(KvmHypervisor.Open(), guest, args, vcpus);
        Assert.Equal(emulatedConsole, kvmConsole);
        Assert.True(emulatedExit.Kind == kvmExit.Kind, $"emulator: {emulatedExit}; kvm: {kvmExit}");
        Assert.Equal(emulatedExit.ExitStatus, kvmExit.ExitStatus);
        Assert.NotEmpty(kvmConsole);
    }

    private static (MachineExit Exit, string Console) Run(IHypervisor hypervisor, string guest, string[] args, int vcpus)
    {
        using var owner = hypervisor;
        var console = new StringBuilder();
        using var machine = VmMachine.Create(hypervisor, new MachineConfig
        {
            Vcpus = vcpus, MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage(guest), Args = args,
        });
        machine.Serial.Output += bytes => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        machine.Start();
        Assert.True(machine.WaitForExit(Timeout), $"{guest} on {hypervisor.Name} did not finish within {Timeout}; console: {console}");
        machine.Serial.Flush();
        lock (console) return (machine.Exit!, console.ToString());
    }
}
