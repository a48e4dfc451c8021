using System.Diagnostics;
using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>Runs built-in guests on a backend (console captured) and their native builds as processes.</summary>
internal static class GuestRunner
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>A machine on the emulator (or KVM) whose console output is collected in <see cref="Console"/>.</summary>
    public sealed class Session : IDisposable
    {
        private readonly StringBuilder _console = new();

        private readonly IHypervisor _hypervisor;

        public Session(string guest, IReadOnlyList<string> args, int vcpus = 1, ulong memoryBytes = 32UL << 20, BackendKind backend = BackendKind.Emulated,
            IReadOnlyList<DiskConfig>? disks = null, int maxCodePages = EmulatedHypervisor.DefaultMaxCodePages)
        {
            _hypervisor = backend == BackendKind.Kvm ? KvmHypervisor.Open() : new EmulatedHypervisor { MaxCodePages = maxCodePages };
            Machine = VmMachine.Create(_hypervisor, new MachineConfig
            {
                Vcpus = vcpus, MemoryBytes = memoryBytes, Image = new BuiltInGuestImage(guest), Args = args, Disks = disks ?? [],
            });
            Machine.Serial.Output += bytes => { lock (_console) _console.Append(Encoding.ASCII.GetString(bytes)); };
        }

        public VmMachine Machine { get; }

        public string Console { get { lock (_console) return _console.ToString(); } }

        /// <summary>Waits until the console holds <paramref name="text"/> (output is flushed at least every 20 ms).</summary>
        public void WaitForOutput(string text, int occurrences = 1)
        {
            Assert.True(SpinWait.SpinUntil(() => Count(Console, text) >= occurrences, Timeout),
                $"no {occurrences} x '{text}' on the console within {Timeout}; got: {Tail(Console)}");
        }

        public MachineExit RunToExit()
        {
            Machine.Start();
            Assert.True(Machine.WaitForExit(Timeout), $"the guest did not finish within {Timeout}; console: {Tail(Console)}");
            return Machine.Exit!;
        }

        public void Dispose()
        {
            Machine.Dispose();
            _hypervisor.Dispose();
        }

        private static int Count(string haystack, string needle)
        {
            int n = 0;
            for (int i = haystack.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = haystack.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) n++;
            return n;
        }

        private static string Tail(string s) => s.Length <= 400 ? s : "..." + s[^400..];
    }

    /// <summary>Runs the native build of <paramref name="guest"/>; returns its exit code and stdout.</summary>
    public static (int ExitCode, string Output) RunNative(string guest, IReadOnlyList<string> args, int cpus = 1)
    {
        var path = BuiltInGuests.FindNative(guest) ?? throw new InvalidOperationException($"no native build of {guest}");
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["GUEST_CPUS"] = cpus.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var p = Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(Timeout), $"native {guest} did not finish");
        return (p.ExitCode, output);
    }
}
