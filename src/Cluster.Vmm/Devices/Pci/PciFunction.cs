namespace Cluster.Vmm.Devices.Pci;

/// <summary>
/// A PCI function on bus 0: its configuration space and the handler of accesses inside its memory
/// BARs. The <see cref="PciRoot"/> maps each BAR on the machine's MMIO bus where the configuration
/// space says (and only while memory decoding is on), and moves it when the guest reprograms it.
/// </summary>
public abstract class PciFunction : IDevice
{
    /// <summary>A function with the given configuration space.</summary>
    protected PciFunction(PciConfigSpace config) => Config = config;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>The configuration space.</summary>
    public PciConfigSpace Config { get; }

    /// <summary>Whether the function raises INTx (pin A) when it cannot use MSI-X.</summary>
    public virtual bool UsesIntx => false;

    /// <summary>A read of <paramref name="size"/> bytes at <paramref name="offset"/> inside BAR <paramref name="bar"/>.</summary>
    public virtual ulong ReadBar(int bar, ulong offset, int size) => IoBus.AllOnes(size);

    /// <summary>A write of <paramref name="size"/> bytes at <paramref name="offset"/> inside BAR <paramref name="bar"/>.</summary>
    public virtual void WriteBar(int bar, ulong offset, int size, ulong value) { }

    /// <summary>Called when the function gets its interrupt line (a GSI) at registration.</summary>
    public virtual void AttachIntx(IInterruptLine line) { }
}
