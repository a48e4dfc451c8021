namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>
/// An architectural exception raised by an instruction (#DE, #UD, #GP, #PF, ...), unwound to the
/// run loop which delivers it through the IDT. Thrown only on the guest's slow paths.
/// </summary>
internal sealed class GuestFault : Exception
{
    public GuestFault(int vector, uint errorCode = 0, bool hasErrorCode = false)
        : base($"guest exception {vector}")
    {
        Vector = vector;
        ErrorCode = errorCode;
        HasErrorCode = hasErrorCode;
    }

    public int Vector { get; }
    public uint ErrorCode { get; }
    public bool HasErrorCode { get; }

    public static GuestFault Gp(uint code = 0) => new(13, code, true);
    public static GuestFault Ud() => new(6);
    public static GuestFault De() => new(0);
}

/// <summary>Unwinds an instruction that must leave the run loop to let the VMM act (an MMIO read), to be restarted afterwards.</summary>
internal sealed class ExitRestart : Exception
{
    public static readonly ExitRestart Instance = new();
}
