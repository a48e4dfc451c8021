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

    /// <summary>For each op that ends a block: the two most recent successors in this page (block linking).</summary>
    public BlockLink[] Links = new BlockLink[32];

    /// <summary>For each op that starts a block: its entry count and compiled prefix (see EmulatedVcpu.Jit.cs).</summary>
    public BlockJit[] Jits = new BlockJit[32];
    public int Count;

    public int Append(in MicroOp op)
    {
        if (Count == Ops.Length)
        {
            Array.Resize(ref Ops, Ops.Length * 2);
            Array.Resize(ref Links, Ops.Length);
            Array.Resize(ref Jits, Ops.Length);
        }
        Ops[Count] = op;
        return Count++;
    }
}

/// <summary>
/// Cached successors of a block in the same page: RIP and 1 + op index, for the taken and the
/// fall-through paths of a branch. Valid while the vCPU's translation epoch is unchanged.
/// </summary>
internal struct BlockLink
{
    public ulong Rip0, Rip1;
    public int Idx0, Idx1;
}

/// <summary>
/// The compilation state of a block: how often it was entered (-1 once found not worth compiling)
/// and, once hot, the compiled code, which runs its ops and returns the index of the next op to interpret
/// (its second argument true only makes the JIT translate it).
/// </summary>
internal struct BlockJit
{
    public int Hits;
    public Func<bool, int>? Code;
    /// <summary>A compilation running in the background, collected by the vCPU on a later entry.</summary>
    public PendingCompile? Pending;
}

/// <summary>The result of a block compiled on the thread pool, published to the vCPU that asked for it.</summary>
internal sealed class PendingCompile
{
    private volatile bool _done;

    public bool Done => _done;
    /// <summary>The compiled code (null when the block is not worth compiling); read only once <see cref="Done"/>.</summary>
    public Func<bool, int>? Code { get; private set; }

    public void Finish(Func<bool, int>? code)
    {
        Code = code;
        _done = true;
    }
}
