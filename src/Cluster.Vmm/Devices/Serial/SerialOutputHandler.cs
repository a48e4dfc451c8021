namespace Cluster.Vmm.Devices.Serial;

/// <summary>
/// Receives bytes that the guest wrote to a serial port. The span is only valid during the call
/// (it points into the UART's transmit buffer): copy what must outlive it. Called on a vCPU
/// thread or the machine's flush timer with the UART's lock held, so keep it short.
/// </summary>
public delegate void SerialOutputHandler(ReadOnlySpan<byte> bytes);
