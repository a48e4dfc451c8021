namespace Cluster.Vmm.Devices.Virtio;

/// <summary>The driver broke the virtqueue rules (a descriptor loop, an address outside guest memory,
/// a chain longer than the queue, a nested indirect table): the device stops using the queue and
/// reports DEVICE_NEEDS_RESET.</summary>
public sealed class VirtioQueueException(string message) : Exception(message);
