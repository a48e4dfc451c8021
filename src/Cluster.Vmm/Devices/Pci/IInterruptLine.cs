namespace Cluster.Vmm.Devices.Pci;

/// <summary>A level-triggered interrupt line of a device (PCI INTx): raised while the device wants
/// attention, lowered once the driver acknowledged it. Callable from any thread.</summary>
public interface IInterruptLine
{
    /// <summary>The GSI the line drives.</summary>
    int Gsi { get; }

    /// <summary>Sets the line's level; only changes reach the interrupt controller.</summary>
    void Set(bool level);
}
