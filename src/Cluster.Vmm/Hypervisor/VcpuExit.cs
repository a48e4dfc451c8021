namespace Cluster.Vmm.Hypervisor;

/// <summary>Why <see cref="IVcpu.Run"/> returned; mirrors KVM_EXIT_* one to one where they overlap.</summary>
public enum VcpuExitKind : byte
{
    /// <summary>KVM_EXIT_IO, direction in: the VMM supplies the value with <see cref="IVcpu.CompleteRead"/>.</summary>
    IoIn,
    /// <summary>KVM_EXIT_IO, direction out: <see cref="VcpuExit.Data"/> holds the value.</summary>
    IoOut,
    /// <summary>KVM_EXIT_MMIO read.</summary>
    MmioRead,
    /// <summary>KVM_EXIT_MMIO write.</summary>
    MmioWrite,
    /// <summary>KVM_EXIT_HLT: halted with no way to wake (interrupts disabled, or no interrupt controller).</summary>
    Hlt,
    /// <summary>KVM_EXIT_SHUTDOWN: triple fault or a shutdown request.</summary>
    Shutdown,
    /// <summary>KVM_EXIT_INTERNAL_ERROR / KVM_EXIT_FAIL_ENTRY: the backend cannot go on (bad instruction bytes, failed entry).</summary>
    InternalError,
    /// <summary>KVM_EXIT_INTR: <see cref="IVcpu.Kick"/> or a signal interrupted the run.</summary>
    Interrupted,
    /// <summary>Any other exit reason; <see cref="VcpuExit.Code"/> holds it.</summary>
    Unsupported,
}

/// <summary>
/// One exit of <see cref="IVcpu.Run"/>. A value type so that the hot I/O path does not allocate:
/// <see cref="Address"/> is the port (I/O) or guest-physical address (MMIO, internal errors),
/// <see cref="Size"/> the access width in bytes, <see cref="Data"/> the written value.
/// </summary>
public readonly struct VcpuExit
{
    public VcpuExitKind Kind { get; init; }
    public ulong Address { get; init; }
    public int Size { get; init; }
    public ulong Data { get; init; }
    /// <summary>For Unsupported: the raw exit reason; for InternalError: a suberror code.</summary>
    public uint Code { get; init; }
    /// <summary>For InternalError and Shutdown: what happened, in words.</summary>
    public string? Reason { get; init; }
    /// <summary>For InternalError: the instruction bytes at <see cref="Address"/>, where readable.</summary>
    public byte[]? Bytes { get; init; }

    public ushort Port => (ushort)Address;

    public static VcpuExit IoIn(ushort port, int size) => new() { Kind = VcpuExitKind.IoIn, Address = port, Size = size };
    public static VcpuExit IoOut(ushort port, int size, ulong data) => new() { Kind = VcpuExitKind.IoOut, Address = port, Size = size, Data = data };
    public static VcpuExit MmioRead(ulong gpa, int size) => new() { Kind = VcpuExitKind.MmioRead, Address = gpa, Size = size };
    public static VcpuExit MmioWrite(ulong gpa, int size, ulong data) => new() { Kind = VcpuExitKind.MmioWrite, Address = gpa, Size = size, Data = data };
    public static readonly VcpuExit Hlt = new() { Kind = VcpuExitKind.Hlt };
    public static readonly VcpuExit Interrupted = new() { Kind = VcpuExitKind.Interrupted };
    public static VcpuExit Shutdown(string reason) => new() { Kind = VcpuExitKind.Shutdown, Reason = reason };
    public static VcpuExit InternalError(string reason, ulong address, byte[]? bytes, uint code = 0) =>
        new() { Kind = VcpuExitKind.InternalError, Reason = reason, Address = address, Bytes = bytes, Code = code };
    public static VcpuExit Unsupported(uint code) => new() { Kind = VcpuExitKind.Unsupported, Code = code };

    public override string ToString() => Kind switch
    {
        VcpuExitKind.IoIn => $"io-in port 0x{Address:x} size {Size}",
        VcpuExitKind.IoOut => $"io-out port 0x{Address:x} size {Size} data 0x{Data:x}",
        VcpuExitKind.MmioRead => $"mmio-read 0x{Address:x} size {Size}",
        VcpuExitKind.MmioWrite => $"mmio-write 0x{Address:x} size {Size} data 0x{Data:x}",
        VcpuExitKind.InternalError => $"internal error at 0x{Address:x}: {Reason}" + (Bytes is { Length: > 0 } ? $" (bytes {Convert.ToHexString(Bytes)})" : ""),
        VcpuExitKind.Shutdown => $"shutdown: {Reason}",
        VcpuExitKind.Unsupported => $"unsupported exit {Code}",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
