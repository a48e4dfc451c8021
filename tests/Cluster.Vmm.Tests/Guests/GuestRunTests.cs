using Cluster.Vmm.Loaders;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Guests;

/// <summary>Every guest under the emulator, its console compared with its native build's stdout.</summary>
public class GuestRunTests
{
    public static TheoryData<string, string[], int> SameAsNative => new()
    {
        { "hello", ["one", "two words", "exit=5"], 1 },
        { "counter", ["25"], 1 },
        { "compute", [], 1 },
        { "compute", ["3000"], 1 },
        { "abpages", ["2", "3"], 1 },
        { "dirtier", ["2", "0", "2"], 1 },
        { "dirtier", ["1", "50", "1"], 1 },
        { "smp", ["2000"], 2 },
        { "smp", ["1000"], 4 },
    };

    [Theory]
    [MemberData(nameof(SameAsNative))]
    public void Guest_output_under_the_emulator_equals_the_native_build_output(string guest, string[] args, int vcpus)
    {
        var (nativeStatus, nativeOutput) = GuestRunner.RunNative(guest, args, vcpus);
        using var session = new GuestRunner.Session(guest, args, vcpus);
        var exit = session.RunToExit();
        Assert.Equal(MachineExitKind.GuestExit, exit.Kind);
        Assert.Equal(nativeStatus, exit.ExitStatus);
        Assert.Equal(nativeOutput, session.Console);
        Assert.NotEmpty(nativeOutput);
    }

    [Theory]
    [InlineData(2, 5000)]
    [InlineData(3, 3000)]
    public void Smp_counter_is_exact_with_every_vcpu_contending(int vcpus, int iterations)
    {
        using var session = new GuestRunner.Session("smp", [iterations.ToString(System.Globalization.CultureInfo.InvariantCulture)], vcpus);
        var exit = session.RunToExit();
        Assert.Equal(new MachineExit(MachineExitKind.GuestExit, 0, exit.Reason, 0), exit);
        Assert.Equal($"smp: cpus={vcpus} iterations={iterations} total={vcpus * iterations}\n", session.Console);
    }

    [Fact]
    public void Timer_guest_takes_its_interrupts_through_its_own_idt()
    {
        using var session = new GuestRunner.Session("timer", ["20"]);
        var exit = session.RunToExit();
        Assert.Equal(MachineExitKind.GuestExit, exit.Kind);
        Assert.Equal(0, exit.ExitStatus);
        Assert.Equal("timer: 20 interrupts taken\n", session.Console);
    }

    [Fact]
    public void Triple_guest_ends_in_a_shutdown()
    {
        using var session = new GuestRunner.Session("triple", []);
        var exit = session.RunToExit();
        Assert.Equal(MachineExitKind.Shutdown, exit.Kind);
        Assert.Null(exit.ExitStatus);
        Assert.Equal("triple: faulting on purpose\n", session.Console);
    }

    [Fact]
    public void Counter_continues_in_a_restored_machine_without_gap_or_repeat()
    {
        const ulong memory = 8UL << 20;
        using var source = new GuestRunner.Session("counter", [], memoryBytes: memory);
        source.Machine.Start();
        source.WaitForOutput("count 200\n");
        source.Machine.Pause();
        var snapshot = source.Machine.SaveState().ToBytes();
        var ram = new byte[memory];
        source.Machine.Memory.Read(0, ram);
        string before = source.Console;

        using var target = new GuestRunner.Session("counter", [], memoryBytes: memory);
        target.Machine.Memory.Write(0, ram);
        target.Machine.RestoreState(MachineSnapshot.FromBytes(snapshot));
        target.Machine.Resume();
        int last = CounterLines.Parse(before).Last();
        target.WaitForOutput($"count {last + 200}\n");
        target.Machine.Stop();
        source.Machine.Stop();

        var counts = CounterLines.Parse(before + target.Console);
        Assert.Equal(Enumerable.Range(1, counts.Count), counts);
        Assert.True(counts.Count >= last + 200);
    }

    [Fact]
    public void Dirty_log_of_abpages_holds_exactly_the_pages_it_increments()
    {
        using var m = new TestMemory(8UL << 20);
        var image = ElfLoader.LoadFile(BuiltInGuests.Find("abpages"), m.Memory, m.Size);
        ulong firstPage = (image.End + 4095) >> 12, pages = 4UL << 8;

        using var session = new GuestRunner.Session("abpages", ["4"], memoryBytes: 32UL << 20);
        session.Machine.EnableDirtyLogging(true);
        session.Machine.Start();
        session.WaitForOutput("abpages pass 2\n");
        session.Machine.Vm.GetDirtyLog(0);
        // The guest was at most in the pass after the last one printed when the log was cleared,
        // so the pass after that one ran entirely after the clear.
        int printed = session.Console.Split('\n').Count(line => line.StartsWith("abpages pass ", StringComparison.Ordinal));
        session.WaitForOutput($"abpages pass {printed + 2}\n");
        session.Machine.Pause();
        var dirty = session.Machine.Vm.GetDirtyLog(0);

        for (ulong p = firstPage; p < firstPage + pages; p++) Assert.True(dirty.IsDirty(p), $"page {p} of the region is not dirty");
        Assert.False(dirty.IsDirty(firstPage + pages + 16));
        Assert.False(dirty.IsDirty((16UL << 20) >> 12));
        Assert.True(dirty.CountDirty() < pages + 64, $"{dirty.CountDirty()} pages dirty for a {pages}-page working set");

        Thread.Sleep(50);
        Assert.Equal(0UL, session.Machine.Vm.GetDirtyLog(0).CountDirty());
        session.Machine.Stop();
    }
}
