using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Devices.Pci;

/// <summary>
/// Routes PCI INTx pins to GSIs and ORs the levels of functions that share one: with an I/O APIC
/// (24 lines) slot s, pin A goes to GSI 16 + (s mod 8), level-triggered and shared only past 8
/// slots; with PICs only it goes to one of the free ISA lines 5, 9, 10, 11. The interrupt line
/// register of each function says which, as firmware would have written it; the routes are what
/// the boot tables (the MP table) describe to the guest.
/// </summary>
public sealed class IntxRouter(IVm vm)
{
    private static readonly int[] IsaLines = [5, 9, 10, 11];
    private readonly object _gate = new();
    private readonly Dictionary<int, int> _raised = [];
    private readonly List<PciIrqRoute> _routes = [];

    /// <summary>Every route assigned so far.</summary>
    public IReadOnlyList<PciIrqRoute> Routes { get { lock (_gate) return [.. _routes]; } }

    /// <summary>The GSI of pin A of the function in <paramref name="slot"/>.</summary>
    public int GsiFor(int slot) => vm.InterruptLines >= 24 ? 16 + slot % 8 : IsaLines[slot % IsaLines.Length];

    /// <summary>Routes pin A of the function in <paramref name="slot"/> and returns its line.</summary>
    public IInterruptLine Connect(int slot)
    {
        int gsi = GsiFor(slot);
        lock (_gate) _routes.Add(new PciIrqRoute(slot, 1, gsi));
        return new Line(this, gsi);
    }

    private void Change(int gsi, bool raise)
    {
        bool level;
        lock (_gate)
        {
            _raised.TryGetValue(gsi, out int n);
            n = Math.Max(0, n + (raise ? 1 : -1));
            _raised[gsi] = n;
            level = n > 0;
            // The call stays under the lock so that two functions on one GSI cannot reorder their edges.
            vm.SetIrqLine(gsi, level);
        }
    }

    private sealed class Line(IntxRouter router, int gsi) : IInterruptLine
    {
        private int _level;

        public int Gsi => gsi;

        public void Set(bool level)
        {
            int value = level ? 1 : 0;
            if (Interlocked.Exchange(ref _level, value) == value) return;
            router.Change(gsi, level);
        }
    }
}

/// <summary>PCI INTx routing of one function: bus 0, <paramref name="Slot"/>, <paramref name="Pin"/>
/// (1 = INTA) to <paramref name="Gsi"/> (level-triggered, active low on an I/O APIC).</summary>
public sealed record PciIrqRoute(int Slot, int Pin, int Gsi);
