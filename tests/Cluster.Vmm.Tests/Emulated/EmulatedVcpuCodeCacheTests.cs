using System.Buffers.Binary;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>
/// The bound of a vCPU's decoded-code cache: a guest that runs code on every page of its memory
/// stays within it, and the results are exact when a tiny bound flushes the cache all the time.
/// </summary>
public sealed class EmulatedVcpuCodeCacheTests
{
    private const ulong StubBase = 0x200000;

    /// <summary>
    /// Writes "add rax, imm32; ret" at the start of each of <paramref name="pages"/> pages from
    /// <see cref="StubBase"/> (imm 7i+1 on page i), and code that calls every stub, adds 1 to every
    /// stub's immediate (stores into decoded code, or into code evicted since), and calls them all
    /// again; returns the expected RAX.
    /// </summary>
    private static ulong LoadCallEveryPage(EmuTestMachine m, int pages)
    {
        ulong expected = 0;
        var stub = new byte[] { 0x48, 0x05, 0, 0, 0, 0, 0xC3 };
        for (int i = 0; i < pages; i++)
        {
            uint imm = (uint)(7 * i + 1);
            BinaryPrimitives.WriteUInt32LittleEndian(stub.AsSpan(2), imm);
            m.Vm.Memory.Write(StubBase + (ulong)i * 4096, stub);
            expected += imm + imm + 1;
        }
        ulong end = StubBase + (ulong)pages * 4096;
        m.LoadCode(a =>
        {
            var pass = a.CreateLabel();
            var call = a.CreateLabel();
            var patch = a.CreateLabel();
            var done = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(r12d, 2);
            a.Label(ref pass);
            a.mov(rbx, StubBase);
            a.Label(ref call);
            a.call(rbx);
            a.add(rbx, 4096);
            a.cmp(rbx, (int)end);
            a.jb(call);
            a.dec(r12d);
            a.jz(done);
            a.mov(rbx, StubBase);
            a.Label(ref patch);
            a.add(__dword_ptr[rbx + 2], 1);
            a.add(rbx, 4096);
            a.cmp(rbx, (int)end);
            a.jb(patch);
            a.jmp(pass);
            a.Label(ref done);
            a.hlt();
        });
        return expected;
    }

    private static EmuTestMachine Machine(int maxCodePages, bool compiled)
    {
        var m = new EmuTestMachine(maxCodePages: maxCodePages);
        m.Cpu.JitThreshold = compiled ? 1 : int.MaxValue;
        m.Cpu.CompileInBackground = false;
        return m;
    }

    [Fact]
    public void Code_on_every_page_of_memory_stays_within_the_bound_and_sums_right()
    {
        // Every page above 2 MiB of the 16 MiB machine: 3584 stubs.
        int pages = (int)((EmuTestMachine.MemSize - StubBase) / 4096);
        using var m = Machine(maxCodePages: 256, compiled: false);
        ulong expected = LoadCallEveryPage(m, pages);
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(expected, m.Regs.Rax);
        var cache = m.Cpu.CodeCache;
        Assert.InRange(cache.Peak, 2, 256);
        Assert.InRange(cache.Count, 1, 256);
        Assert.True(cache.Flushes >= 2 * pages / 256, $"{cache.Flushes} flushes");
        Assert.True(cache.Evictions >= cache.Flushes * 200, $"{cache.Evictions} evictions in {cache.Flushes} flushes");
    }

    [Fact]
    public void The_default_bound_holds_every_page_of_a_16_MiB_machine_without_evicting()
    {
        int pages = (int)((EmuTestMachine.MemSize - StubBase) / 4096);
        using var m = Machine(EmulatedHypervisor.DefaultMaxCodePages, compiled: false);
        ulong expected = LoadCallEveryPage(m, pages);
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(expected, m.Regs.Rax);
        Assert.Equal(0, m.Cpu.CodeCache.Evictions);
        Assert.True(m.Cpu.CodeCache.Peak > pages, $"peak {m.Cpu.CodeCache.Peak}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tiny_bound_evicts_constantly_and_the_results_stay_exact(bool compiled)
    {
        const int pages = 300;
        using var m = Machine(maxCodePages: 8, compiled);
        ulong expected = LoadCallEveryPage(m, pages);
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(expected, m.Regs.Rax);
        // 2 passes of 300 calls, each bringing the stub's page and the loop's page back.
        Assert.InRange(m.Cpu.CodeCache.Peak, 2, 8);
        Assert.True(m.Cpu.CodeCache.Flushes >= 2 * pages / 8, $"{m.Cpu.CodeCache.Flushes} flushes");
        if (compiled) Assert.True(m.Cpu.CompiledBlocks > 2 * pages, $"{m.Cpu.CompiledBlocks} compiled blocks");
    }

    [Fact]
    public void The_codewalk_guest_runs_code_on_4096_pages_within_a_bound_of_64()
    {
        using var session = new GuestRunner.Session("codewalk", ["16", "2"], memoryBytes: 32UL << 20, maxCodePages: 64);
        var exit = session.RunToExit();
        Assert.True(exit.Kind == MachineExitKind.GuestExit && exit.ExitStatus == 0, $"{exit}; console: {session.Console}");
        Assert.Contains("codewalk pass 2 pages 4096\n", session.Console, StringComparison.Ordinal);
        var cache = ((EmulatedVcpu)session.Machine.Vm.Vcpus[0]).CodeCache;
        Assert.InRange(cache.Peak, 2, 64);
        Assert.True(cache.Evictions >= 2 * 4096 - 64, $"{cache.Evictions} evictions");
    }

    [Fact]
    public void A_bound_below_one_page_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmulatedHypervisor { MaxCodePages = 0 });
    }
}
