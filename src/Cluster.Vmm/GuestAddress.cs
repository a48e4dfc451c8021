namespace Cluster.Vmm;

/// <summary>A guest-physical address.</summary>
public readonly record struct GuestAddress(ulong Value)
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    public GuestAddress Add(ulong offset) => new(Value + offset);
    public ulong PageNumber => Value >> PageShift;
    public bool IsPageAligned => (Value & (PageSize - 1)) == 0;
    public override string ToString() => $"0x{Value:x}";
}
