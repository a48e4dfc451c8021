namespace Cluster.Vmm.Devices;

/// <summary>One device's state in a machine snapshot: the device's name, the version of the layout
/// of <paramref name="Data"/>, and the bytes. A section whose version the receiving device does not
/// write is refused with a message that names both versions.</summary>
public sealed record DeviceSection(string Name, int Version, byte[] Data);
