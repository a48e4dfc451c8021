using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.Kvm;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Guests;

/// <summary>The same guests and machine operations on /dev/kvm (skipped where it cannot be opened).</summary>
public class GuestRunOnKvmTests
{
    public static TheoryData<string, string[]> SameAsNative => new()
    {
        { "hello", ["kvm", "exit=9"] },
        { "counter", ["50"] },
        { "compute", [] },
        { "abpages", ["2", "3"] },
        { "dirtier", ["2", "0", "2"] },
    };

    [KvmTheory]
    [MemberData(nameof(SameAsNative))]
    public void Guest_output_on_kvm_equals_the_native_build_output(string guest, string[] args)
    {
        var (nativeStatus, nativeOutput) = GuestRunner.RunNative(guest, args);
        using var session = new GuestRunner.Session(guest, args, backend: BackendKind.Kvm);
        var exit = session.RunToExit();
        Assert.Equal(MachineExitKind.GuestExit, exit.Kind);
        Assert.Equal(nativeStatus, exit.ExitStatus);
        Assert.Equal(nativeOutput, session.Console);
    }

    [KvmTheory]
    [InlineData(2, 20000)]
    [InlineData(3, 10000)]
    public void Smp_counter_is_exact_on_kvm(int vcpus, int iterations)
    {
        using var session = new GuestRunner.Session("smp", [iterations.ToString(System.Globalization.CultureInfo.InvariantCulture)], vcpus, backend: BackendKind.Kvm);
        var exit = session.RunToExit();
        Assert.Equal((MachineExitKind.GuestExit, (int?)0), (exit.Kind, exit.ExitStatus));
        Assert.Equal($"smp: cpus={vcpus} iterations={iterations} total={vcpus * iterations}\n", session.Console);
    }

    [KvmFact]
    public void Timer_guest_takes_interrupts_from_the_in_kernel_pit_and_pic()
    {
        using var session = new GuestRunner.Session("timer", ["20"], backend: BackendKind.Kvm);
        var exit = session.RunToExit();
        Assert.Equal((MachineExitKind.GuestExit, (int?)0), (exit.Kind, exit.ExitStatus));
        Assert.Equal("timer: 20 interrupts taken\n", session.Console);
    }

    [KvmFact]
    public void Triple_guest_ends_in_a_shutdown()
    {
        using var session = new GuestRunner.Session("triple", [], backend: BackendKind.Kvm);
        Assert.Equal(MachineExitKind.Shutdown, session.RunToExit().Kind);
    }

    [KvmFact]
    public void Counter_continues_in_a_restored_machine_without_gap_or_repeat()
    {
        const ulong memory = 8UL << 20;
        using var source = new GuestRunner.Session("counter", [], memoryBytes: memory, backend: BackendKind.Kvm);
        source.Machine.Start();
        source.WaitForOutput("count 500\n");
        source.Machine.Pause();
        var snapshot = source.Machine.SaveState().ToBytes();
        var ram = new byte[memory];
        source.Machine.Memory.Read(0, ram);
        string before = source.Console;

        using var target = new GuestRunner.Session("counter", [], memoryBytes: memory, backend: BackendKind.Kvm);
        target.Machine.Memory.Write(0, ram);
        target.Machine.RestoreState(MachineSnapshot.FromBytes(snapshot));
        target.Machine.Resume();
        int last = CounterLines.Parse(before).Last();
        target.WaitForOutput($"count {last + 500}\n");
        target.Machine.Stop();
        source.Machine.Stop();

        var counts = CounterLines.Parse(before + target.Console);
        Assert.Equal(Enumerable.Range(1, counts.Count), counts);
    }

    [KvmFact]
    public void Dirty_log_of_abpages_contains_every_page_it_increments()
    {
        using var m = new TestMemory(8UL << 20);
        var image = ElfLoader.LoadFile(BuiltInGuests.Find("abpages"), m.Memory, m.Size);
        ulong firstPage = (image.End + 4095) >> 12, pages = 4UL << 8;

        using var session = new GuestRunner.Session("abpages", ["4"], memoryBytes: 32UL << 20, backend: BackendKind.Kvm);
        session.Machine.EnableDirtyLogging(true);
        session.Machine.Start();
        session.WaitForOutput("abpages pass 2\n");
        session.Machine.Vm.GetDirtyLog(0);
        int printed = session.Console.Split('\n').Count(line => line.StartsWith("abpages pass ", StringComparison.Ordinal));
        session.WaitForOutput($"abpages pass {printed + 2}\n");
        session.Machine.Pause();
        var dirty = session.Machine.Vm.GetDirtyLog(0);

        for (ulong p = firstPage; p < firstPage + pages; p++) Assert.True(dirty.IsDirty(p), $"page {p} of the region is not dirty");
        Assert.False(dirty.IsDirty((24UL << 20) >> 12));
        session.Machine.Stop();
    }
}
