namespace Cluster.Vmm.Devices.Virtio;

/// <summary>The numbers of the virtio 1.x specification that the transport and devices share.</summary>
public static class VirtioConstants
{
    /// <summary>Device status bits.</summary>
    public const byte StatusAcknowledge = 1, StatusDriver = 2, StatusDriverOk = 4, StatusFeaturesOk = 8,
        StatusNeedsReset = 0x40, StatusFailed = 0x80;

    /// <summary>Feature bits of the transport and the rings.</summary>
    public const int FeatureIndirectDesc = 28, FeatureEventIdx = 29, FeatureVersion1 = 32;

    /// <summary>Descriptor flags.</summary>
    public const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;

    /// <summary>The driver asks for no interrupts (VRING_AVAIL_F_NO_INTERRUPT).</summary>
    public const ushort AvailNoInterrupt = 1;

    /// <summary>The device asks for no notifications (VRING_USED_F_NO_NOTIFY).</summary>
    public const ushort UsedNoNotify = 1;

    /// <summary>MSI-X "no vector".</summary>
    public const ushort NoVector = 0xffff;

    /// <summary>The PCI vendor of virtio devices, and the base of modern device ids (0x1040 + type).</summary>
    public const ushort PciVendor = 0x1af4, PciModernDeviceBase = 0x1040;

    /// <summary>Virtio device types.</summary>
    public const int DeviceTypeNet = 1, DeviceTypeBlock = 2;

    /// <summary>A feature bit as a mask.</summary>
    public static ulong Bit(int feature) => 1UL << feature;
}
