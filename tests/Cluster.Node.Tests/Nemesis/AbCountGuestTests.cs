using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>The a-b guest (<c>abcount</c>) that the nemesis's VMs run: it counts, and reports a page of its four that
/// differs from the others (as a migration that lost a page would leave it).</summary>
public sealed class AbCountGuestTests
{
    private const ulong Memory = 4UL << 20;
    private const ulong Stride = 260UL << 10;

    [Fact]
    public async Task It_counts_and_reports_a_slot_page_that_differs_from_the_others()
    {
        using var hypervisor = new EmulatedHypervisor();
        using var machine = VmMachine.Create(hypervisor, new MachineConfig { MemoryBytes = Memory, Image = new BuiltInGuestImage("abcount"), Args = [] });
        var console = new StringBuilder();
        machine.Serial.Output += bytes => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        string Text() { lock (console) return console.ToString(); }
        machine.Start();
        await Until(() => Text().Contains("count 200\n", StringComparison.Ordinal), "200 counts");
        Assert.DoesNotContain("ab-bad", Text(), StringComparison.Ordinal);

        // Find the four slots (page starts 260 KiB apart holding the same count), between two writes of the guest, and put
        // an older copy in slot 2 (as a migration that carried a stale page would leave it). The pause may land after the
        // guest checked slot 2 and before it writes the next count over it: then the guest counts on (count + 2 appears) and
        // the stale copy is put in again.
        for (var attempt = 1; ; attempt++)
        {
            var (first, count) = PauseAtSlots(machine);
            var stale = new byte[8];
            BitConverter.TryWriteBytes(stale, count - 3);
            machine.Memory.Write(first + 2 * Stride, stale);
            machine.Resume();
            var bad = $"ab-bad count={count} slot=2 saw={count - 3}\n";
            await Until(() => Text().Contains(bad, StringComparison.Ordinal) || Text().Contains($"count {count + 2}\n", StringComparison.Ordinal),
                "the ab-bad line or two more counts");
            if (!Text().Contains(bad, StringComparison.Ordinal) && attempt < 5)
                continue;
            await Until(() => Text().Contains(bad, StringComparison.Ordinal), "the ab-bad line");
            Assert.Equal(bad.TrimEnd('\n'), NemesisCounters.LastAbBad(Encoding.ASCII.GetBytes(Text())));
            return;
        }
    }

    /// <summary>Pauses the machine where its four slots hold the same count (at least 200): the first slot's address and the count.</summary>
    private static (ulong First, ulong Count) PauseAtSlots(VmMachine machine)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            machine.Pause();
            for (ulong page = 1UL << 20; page + 3 * Stride < Memory; page += 4096)
            {
                var c = Read(machine, page);
                if (c >= 200 && Enumerable.Range(1, 3).All(k => Read(machine, page + (ulong)k * Stride) == c))
                    return (page, c);
            }
            machine.Resume();
        }
        Assert.Fail("no pause found the four slots equal");
        return default;
    }

    private static ulong Read(VmMachine machine, ulong gpa)
    {
        Span<byte> b = stackalloc byte[8];
        machine.Memory.Read(gpa, b);
        return BitConverter.ToUInt64(b);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !condition(); await Task.Delay(20))
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
    }
}
