namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>
/// The decoded code of one guest-physical page for one code size: blocks of micro-ops, each with a
/// single entry and ending in an op flagged <see cref="OpFlags.EndsBlock"/>. Owned by one vCPU;
/// <see cref="Valid"/> is cleared from any thread when the page is written.
/// </summary>
internal sealed class CodePage
{
    public CodePage(ulong physPage, int bitness)
    {
        PhysPage = physPage;
        Bitness = bitness;
    }

    public ulong PhysPage { get; }
    public int Bitness { get; }
    public volatile bool Valid = true;

    /// <summary>For each byte offset, 1 + the index of the block that starts there, or 0.</summary>
    public readonly int[] Entry = new int[4096];
    public MicroOp[] Ops = new MicroOp[32];
    public int Count;

    public int Append(in MicroOp op)
    {
        if (Count == Ops.Length) Array.Resize(ref Ops, Ops.Length * 2);
        Ops[Count] = op;
        return Count++;
    }
}
