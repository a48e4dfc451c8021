namespace Cluster.Vmm.Devices.Pci;

/// <summary>The host bridge at 00:00.0 (class 0x0600), which is what Linux's configuration
/// mechanism 1 probe looks for on bus 0 before it trusts the mechanism.</summary>
public sealed class PciHostBridge : PciFunction
{
    /// <summary>Intel's vendor id and the id cloud-hypervisor also uses for its bridge.</summary>
    public const ushort VendorIntel = 0x8086, DeviceId = 0x0d57;

    /// <summary>A host bridge.</summary>
    public PciHostBridge() : base(new PciConfigSpace(VendorIntel, DeviceId, 0x06_00_00, 0, 0, 0)) { }

    /// <inheritdoc />
    public override string Name => "pci-host";
}
