using System.Diagnostics;
using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>
/// Real programs as differential cases: the gcc -O2 builds of guests/differential (an integer
/// benchmark over global arrays with global loop bounds, sorts, bit tricks) run on the emulator,
/// all interpreted or every block compiled to IL at its first entry, and print what their native
/// builds print. The programs are built here with make (gcc), from the repository's sources.
/// </summary>
public sealed class ProgramDifferentialTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly Lazy<string> BuildDir = new(Build);

    public static TheoryData<string, string, bool> Programs()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var compiled in new[] { false, true })
        {
            data.Add("intloop", "12", compiled);
            data.Add("sorts", "3000", compiled);
            data.Add("bitops", "20000", compiled);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void A_gcc_O2_program_prints_on_the_emulator_what_it_prints_natively(string program, string arg, bool compiled)
    {
        var dir = BuildDir.Value;
        var (status, native) = RunNative(Path.Combine(dir, "host", program), arg);
        Assert.Equal(0, status);
        Assert.EndsWith($"{program} done\n", native, StringComparison.Ordinal);

        using var hv = new EmulatedHypervisor { JitThreshold = compiled ? 1 : int.MaxValue, CompileInBackground = false };
        using var machine = VmMachine.Create(hv, new MachineConfig
        {
            Vcpus = 1, MemoryBytes = 32UL << 20, Image = new ElfGuestImage(Path.Combine(dir, program + ".elf")), Args = [arg],
        });
        var console = new StringBuilder();
        machine.Serial.Output += bytes => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        machine.Start();
        bool exited = machine.WaitForExit(Timeout);
        string output;
        lock (console) output = console.ToString();
        Assert.True(exited, $"{program} did not finish within {Timeout} ({(compiled ? "compiled" : "interpreted")}); console: {Tail(output)}");
        Assert.True(machine.Exit!.Kind == MachineExitKind.GuestExit && machine.Exit.ExitStatus == 0,
            $"{program} ended with {machine.Exit} ({(compiled ? "compiled" : "interpreted")}); console: {Tail(output)}");
        Assert.Equal(native, output);
        if (compiled) Assert.True(((EmulatedVcpu)machine.Vm.Vcpus[0]).CompiledBlocks > 10);
    }

    private static string Tail(string s) => s.Length <= 600 ? s : "..." + s[^600..];

    private static (int Status, string Output) RunNative(string path, string arg)
    {
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(arg);
        using var p = Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(Timeout), $"native {path} did not finish");
        return (p.ExitCode, output);
    }

    /// <summary>Builds guests/differential (found above the test binaries) with make; returns its build folder.</summary>
    private static string Build()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "guests", "differential", "Makefile"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException($"guests/differential not found above {AppContext.BaseDirectory}");
        var src = Path.Combine(dir.FullName, "guests", "differential");
        var info = new ProcessStartInfo("make", ["-s", "-C", src]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"make -C {src} failed ({p.ExitCode}): {output}{err.Result}");
        return Path.Combine(src, "build");
    }
}
