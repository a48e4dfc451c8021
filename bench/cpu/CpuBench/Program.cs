using System.Diagnostics;
using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;
using CpuBench;

// Runs one guest image on the emulated backend and under QEMU TCG, and compares MIPS over the
// same work: the instructions the emulator retires between the guest's START and END markers,
// divided by each one's wall time between those markers.
if (args is ["--tight-loop"])
{
    var t = TightLoop();
    Console.WriteLine($"emulator tight loop: {t.Instructions / t.CpuSeconds / 1e6:F0} MIPS per CPU second");
    return 0;
}
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: CpuBench <guest.elf> <qemu-system-x86_64> [runs]");
    return 2;
}
var image = PvhElf.Parse(File.ReadAllBytes(args[0]));
int runs = args.Length > 2 ? int.Parse(args[2]) : 3;

var emu = Enumerable.Range(0, runs).Select(_ => RunEmulated(image, logDirty: false)).ToList();
var logged = RunEmulated(image, logDirty: true);
Console.WriteLine($"emulator with dirty logging: {logged.Instructions / logged.CpuSeconds / 1e6:F0} MIPS per CPU second");
var qemu = Enumerable.Range(0, runs).Select(_ => RunQemu(args[1], args[0])).ToList();
foreach (var e in emu)
    Console.WriteLine($"emulator: {e.Instructions} instructions in {e.Seconds:F3} s ({e.CpuSeconds:F3} s of CPU, {e.Instructions / e.CpuSeconds / 1e6:F0} MIPS per CPU second), output {e.Result}");
foreach (var q in qemu) Console.WriteLine($"qemu tcg: {q.Seconds:F3} s between markers, output {q.Result}");
if (emu.Select(r => r.Result).Concat(qemu.Select(r => r.Result)).Distinct().Count() != 1)
{
    Console.Error.WriteLine("the emulator and QEMU disagree on the guest's output");
    return 1;
}
var loop = TightLoop();
Console.WriteLine($"emulator tight loop (add, dec, jnz): {loop.Instructions} instructions, {loop.Instructions / loop.CpuSeconds / 1e6:F0} MIPS per CPU second");
long instructions = emu[0].Instructions;
double emuMips = instructions / emu.Min(e => e.Seconds) / 1e6;
double qemuMips = instructions / qemu.Min(q => q.Seconds) / 1e6;
Console.WriteLine($"emulator_mips={emuMips:F0} qemu_tcg_mips={qemuMips:F0} ratio={emuMips / qemuMips:F3}");
return 0;

static (long Instructions, double Seconds, double CpuSeconds, string Result) RunEmulated(PvhElf image, bool logDirty)
{
    using var hv = new EmulatedHypervisor();
    using var vm = hv.CreateVm();
    using var mem = HostMemory.Allocate(64 << 20);
    vm.SetUserMemoryRegion(0, 0, mem, logDirty ? MemoryRegionFlags.LogDirtyPages : MemoryRegionFlags.None);
    foreach (var (addr, bytes, _) in image.Segments) vm.Memory.Write(addr, bytes);
    var cpu = (EmulatedVcpu)vm.CreateVcpu(0);
    var flat = new Segment { Base = 0, Limit = 0xFFFF_FFFF, S = true, Present = true, Db = true, G = true, Type = 3, Selector = 0x10 };
    var sr = cpu.GetSpecialRegisters();
    sr.Ds = sr.Es = sr.Ss = sr.Fs = sr.Gs = flat;
    sr.Cs = flat with { Type = 0xB, Selector = 0x08 };
    sr.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Et;
    cpu.SetSpecialRegisters(sr);
    cpu.SetRegisters(new Registers { Rip = image.Entry, Rflags = 2 });

    var output = new StringBuilder();
    long startCount = 0, startTicks = 0, endCount = 0, endTicks = 0;
    TimeSpan startCpu = default, endCpu = default;
    while (true)
    {
        var e = cpu.Run();
        if (e.Kind == VcpuExitKind.IoOut && e.Port == 0x3F8)
        {
            output.Append((char)e.Data);
            if (e.Data == '\n' && output.ToString() == "START\n")
            {
                startCount = cpu.RetiredInstructions;
                startTicks = Stopwatch.GetTimestamp();
                startCpu = Process.GetCurrentProcess().TotalProcessorTime;
            }
            if (output.ToString().StartsWith("START\nEND", StringComparison.Ordinal) && endTicks == 0)
            {
                endCount = cpu.RetiredInstructions;
                endTicks = Stopwatch.GetTimestamp();
                endCpu = Process.GetCurrentProcess().TotalProcessorTime;
            }
            continue;
        }
        if (e.Kind == VcpuExitKind.IoOut && e.Port == 0xF4) break;
        throw new InvalidOperationException($"unexpected exit {e} after output '{output}'");
    }
    return (endCount - startCount, Stopwatch.GetElapsedTime(startTicks, endTicks).TotalSeconds, (endCpu - startCpu).TotalSeconds, Result(output.ToString()));
}

static (long Instructions, double CpuSeconds) TightLoop()
{
    using var hv = new EmulatedHypervisor();
    using var vm = hv.CreateVm();
    using var mem = HostMemory.Allocate(1 << 20);
    vm.SetUserMemoryRegion(0, 0, mem, MemoryRegionFlags.None);
    // 32-bit protected mode, flat: loop: add eax, ebx; dec ecx; jnz loop; out 0xf4, al
    vm.Memory.Write(0x1000, [0x01, 0xD8, 0x49, 0x75, 0xFB, 0xE6, 0xF4]);
    var cpu = (EmulatedVcpu)vm.CreateVcpu(0);
    var flat = new Segment { Limit = 0xFFFF_FFFF, S = true, Present = true, Db = true, G = true, Type = 3 };
    var sr = cpu.GetSpecialRegisters();
    sr.Ds = sr.Es = sr.Ss = flat;
    sr.Cs = flat with { Type = 0xB };
    sr.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Et;
    cpu.SetSpecialRegisters(sr);
    cpu.SetRegisters(new Registers { Rip = 0x1000, Rcx = 100_000_000, Rbx = 3, Rflags = 2 });
    var start = Process.GetCurrentProcess().TotalProcessorTime;
    var e = cpu.Run();
    var cpuTime = Process.GetCurrentProcess().TotalProcessorTime - start;
    if (e.Kind != VcpuExitKind.IoOut) throw new InvalidOperationException($"tight loop ended with {e}");
    return (cpu.RetiredInstructions, cpuTime.TotalSeconds);
}

static (double Seconds, string Result) RunQemu(string qemu, string elf)
{
    var psi = new ProcessStartInfo(qemu)
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    foreach (var a in new[] { "-accel", "tcg", "-M", "pc", "-m", "64", "-display", "none", "-monitor", "none", "-serial", "stdio",
                 "-no-reboot", "-kernel", elf, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04" })
        psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var output = new StringBuilder();
    long start = 0, end = 0;
    var stdout = p.StandardOutput;
    int c;
    while ((c = stdout.Read()) >= 0)
    {
        output.Append((char)c);
        if (c == '\n' && output.ToString().EndsWith("START\n", StringComparison.Ordinal)) start = Stopwatch.GetTimestamp();
        if (end == 0 && output.ToString().EndsWith("END", StringComparison.Ordinal)) end = Stopwatch.GetTimestamp();
    }
    p.WaitForExit();
    if (start == 0 || end == 0) throw new InvalidOperationException($"QEMU printed no markers: '{output}' {p.StandardError.ReadToEnd()}");
    return (Stopwatch.GetElapsedTime(start, end).TotalSeconds, Result(output.ToString()));
}

static string Result(string output) => output[(output.IndexOf("END", StringComparison.Ordinal))..].Trim();
