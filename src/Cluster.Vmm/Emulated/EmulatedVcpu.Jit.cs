using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Cluster.Vmm.Emulated.Cpu;

namespace Cluster.Vmm.Emulated;

/// <summary>
/// Hot blocks compiled to IL: after <see cref="JitThreshold"/> entries, a block becomes a
/// <see cref="DynamicMethod"/> that calls, with every operand as a constant, the same small helpers
/// the interpreter's cases use for the specialised register, ALU, load and store ops (the JIT inlines
/// them and folds the size and register switches, so those run without dispatch), hands any other op
/// inside the block to the interpreter, and runs the block's closing jcc/jmp/call/ret or
/// compare-and-branch itself. Ops that end a block otherwise (system ops, far transfers) stay with the
/// interpreter. The compiled code lives in the block's <see cref="CodePage"/>, so the same
/// per-page invalidation that drops decoded code drops it too.
/// </summary>
public sealed unsafe partial class EmulatedVcpu
{
    /// <summary>Entries of a block before it is compiled; tests lower it to run every block compiled.</summary>
    internal int JitThreshold { get; set; } = 500;

    /// <summary>
    /// Whether hot blocks compile on the thread pool while the vCPU keeps interpreting them (the
    /// default: compiling never stalls the guest); tests switch it off to run compiled code at once.
    /// </summary>
    internal bool CompileInBackground { get; set; } = true;

    /// <summary>Compiled blocks installed so far (for tests and benchmarks).</summary>
    internal int CompiledBlocks { get; private set; }

    /// <summary>
    /// Runs the compiled code of the block starting at op <paramref name="idx"/> if it has some (asking
    /// for it when the block turns hot); returns the op index where interpretation continues, or the
    /// complement of the block's last op when the compiled code ran the whole block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunCompiled(CodePage cp, int idx)
    {
        ref var bj = ref cp.Jits[idx];
        if (bj.Code is not null) return bj.Code(false);
        if (bj.Hits < 0 || ++bj.Hits < JitThreshold) return idx;
        return InstallCompiled(ref bj, cp, idx);
    }

    /// <summary>Compiles a hot block, or collects the result of its background compilation; -1 in Hits marks one not worth compiling.</summary>
    private int InstallCompiled(ref BlockJit bj, CodePage cp, int idx)
    {
        if (bj.Pending is { } pending)
        {
            if (!pending.Done) return idx;
            bj.Pending = null;
            bj.Code = pending.Code;
        }
        else
        {
            // The block's ops are copied, so that compiling never reads the page while this vCPU appends to it.
            int end = idx;
            while ((cp.Ops[end].Flags & OpFlags.EndsBlock) == 0) end++;
            var block = cp.Ops.AsSpan(idx, end - idx + 1).ToArray();
            ulong page = cp.PhysPage;
            if (CompileInBackground)
            {
                var job = new PendingCompile();
                bj.Pending = job;
                ThreadPool.UnsafeQueueUserWorkItem(j => j.Finish(TryCompileBlock(this, block, idx, page)), job, preferLocal: false);
                return idx;
            }
            bj.Code = TryCompileBlock(this, block, idx, page);
        }
        if (bj.Code is null)
        {
            bj.Hits = -1;
            return idx;
        }
        CompiledBlocks++;
        return bj.Code(false);
    }

    /// <summary>Whether an op inside a block (not its last) gets its own inlined code; the others run through <see cref="JInterp"/>.</summary>
    private static bool Compilable(in MicroOp op) =>
        (op.Flags & (OpFlags.EndsBlock | OpFlags.Lock | OpFlags.FusedJcc)) == 0 && CompilableKind(op.Op);

    /// <summary>What compiled code is bound to: the vCPU, and its copy of the block's ops for those it hands to the interpreter.</summary>
    private sealed class BlockState(EmulatedVcpu vcpu, MicroOp[] ops)
    {
        public readonly EmulatedVcpu Vcpu = vcpu;
        public readonly MicroOp[] Ops = ops;
    }

    /// <summary>
    /// Whether the op that ends a block can be compiled too: a near jcc, jmp, call or ret (without an
    /// immediate), a compare-and-branch whose compare is compilable, or a compilable op that ends the
    /// block only because of the page end or the block length.
    /// </summary>
    private static bool ClosesBlock(in MicroOp op)
    {
        if ((op.Flags & OpFlags.Lock) != 0 || (op.Flags & OpFlags.EndsBlock) == 0) return false;
        if ((op.Flags & OpFlags.FusedJcc) != 0 || op.Op is not (Op.Jcc or Op.Jmp or Op.Call or Op.Ret)) return CompilableKind(op.Op);
        return op.Op != Op.Ret || op.K0 != OpndKind.Imm;
    }

    private static bool CompilableKind(Op op) => op switch
        {
            Op.MovRR or Op.MovRI or Op.Load or Op.Store or Op.StoreImm or Op.PushR or Op.PopR or Op.IncR or Op.DecR
                or Op.AddRR or Op.AddRI or Op.AddRM or Op.SubRR or Op.SubRI or Op.SubRM
                or Op.CmpRR or Op.CmpRI or Op.CmpRM or Op.CmpMR or Op.CmpMI
                or Op.AndRR or Op.AndRI or Op.OrRR or Op.OrRI or Op.XorRR or Op.XorRI or Op.TestRR or Op.TestRI
                or Op.AndRM or Op.OrRM or Op.XorRM or Op.MovzxRR or Op.MovzxRM or Op.MovsxRR or Op.MovsxRM
                or Op.ShlRI or Op.ShrRI or Op.SarRI or Op.Lea or Op.Nop => true,
            _ => false,
        };

    private static bool Writes(Op op) => op is Op.Store or Op.StoreImm or Op.PushR;

    private static bool UsesMemory(Op op) => op is Op.Load or Op.Store or Op.StoreImm or Op.AddRM or Op.SubRM or Op.CmpRM
        or Op.CmpMR or Op.CmpMI or Op.AndRM or Op.OrRM or Op.XorRM or Op.MovzxRM or Op.MovsxRM;

    /// <summary>
    /// The helpers compiled code calls, found once, on the first compile (not in the vCPU's static constructor: a vCPU
    /// that never compiles, as in a NativeAOT worker, never looks them up).
    /// </summary>
    private static class JitHelpers
    {
        public static readonly MethodInfo Step = Helper(nameof(JStep));
        public static readonly MethodInfo Lin = Helper(nameof(JLin));
        public static readonly MethodInfo Ea = Helper(nameof(JEa));
        public static readonly MethodInfo Stopped = Helper(nameof(JStopped));
        public static readonly MethodInfo Interp = Helper(nameof(JInterp));
        public static readonly FieldInfo StateVcpu = typeof(BlockState).GetField(nameof(BlockState.Vcpu))!;
        public static readonly MethodInfo Retire = Helper(nameof(JRetire));
        public static readonly MethodInfo Jcc = Helper(nameof(JJcc));
        public static readonly MethodInfo Jmp = Helper(nameof(JJmp));
        public static readonly MethodInfo Call = Helper(nameof(JCall));
        public static readonly MethodInfo Ret = Helper(nameof(JRet));
        public static readonly MethodInfo Fused = Helper(nameof(JFused));
        public static readonly MethodInfo FusedSub = Helper(nameof(JFusedSub));
        public static readonly MethodInfo FusedLogic = Helper(nameof(JFusedLogic));

        public static MethodInfo Helper(string name) =>
            typeof(EmulatedVcpu).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static) ?? throw new MissingMethodException(nameof(EmulatedVcpu), name);
    }

    /// <summary>
    /// <see cref="CompileBlock"/> where the runtime can compile code at run time; null (the block stays interpreted) where it
    /// cannot: a NativeAOT program (the AOT-compiled <c>vmm-worker</c>) has no JIT, and there every block is interpreted.
    /// </summary>
    private static Func<bool, int>? TryCompileBlock(EmulatedVcpu vcpu, MicroOp[] ops, int first, ulong physPage) =>
        RuntimeFeature.IsDynamicCodeSupported ? CompileBlock(vcpu, ops, first, physPage) : null;

    /// <summary>
    /// Compiles <paramref name="ops"/> (a copy of the block whose first op has index <paramref name="first"/>
    /// in page <paramref name="physPage"/>) for <paramref name="vcpu"/>: every op but the last, inlined or
    /// handed to the interpreter, and the last op when
    /// <see cref="ClosesBlock"/> allows; null when that is fewer than two ops. The delegate is bound to a
    /// <see cref="BlockState"/> (a closed delegate calls the static method without a shuffle thunk). The compiled code returns
    /// the index of the next op to interpret, or the complement (~index) of the block's last op when it ran the whole block.
    /// </summary>
    [RequiresDynamicCode("emits the block as a DynamicMethod; callers go through TryCompileBlock, which checks RuntimeFeature.IsDynamicCodeSupported")]
    private static Func<bool, int>? CompileBlock(EmulatedVcpu vcpu, MicroOp[] ops, int first, ulong physPage)
    {
        int end = 0;
        while (end < ops.Length && (ops[end].Flags & OpFlags.EndsBlock) == 0) end++;
        bool closes = end < ops.Length && ClosesBlock(ops[end]);
        if (end + (closes ? 1 : 0) < 2) return null;
        var dm = new DynamicMethod($"block_{physPage:x}_{first}", typeof(int), [typeof(BlockState), typeof(bool)], typeof(EmulatedVcpu), skipVisibility: true);
        var il = dm.GetILGenerator();
        // Called with warmUp = true, the code returns at once: the compiling thread makes the JIT translate it.
        var body = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Brfalse, body);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(body);
        // Local 0: the vCPU, which every helper takes first.
        il.DeclareLocal(typeof(EmulatedVcpu));
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, JitHelpers.StateVcpu);
        il.Emit(OpCodes.Stloc_0);
        for (int i = 0; i < end; i++)
        {
            ref MicroOp op = ref ops[i];
            EmitStep(il, op, i > 0);
            if (op.Op == Op.Nop) continue;
            bool inlined = Compilable(op);
            if (inlined) EmitOp(il, op);
            else
            {
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Call, JitHelpers.Interp);
            }
            if (!inlined || Writes(op.Op))
            {
                // A store to decoded code or to MMIO (or a REP op yielding) stops the block after it.
                var go = il.DefineLabel();
                il.Emit(OpCodes.Ldloc_0);
                il.Emit(OpCodes.Call, JitHelpers.Stopped);
                il.Emit(OpCodes.Brfalse, go);
                EmitRetireLast(il);
                il.Emit(OpCodes.Ldc_I4, first + i + 1);
                il.Emit(OpCodes.Ret);
                il.MarkLabel(go);
            }
        }
        if (closes)
        {
            ref MicroOp op = ref ops[end];
            EmitStep(il, op, end > 0);
            switch (op.Op)
            {
                case Op.Jcc: EmitBranch(il, JitHelpers.Jcc, op.Cond, op.Imm, op.Size); break;
                case Op.Jmp: EmitBranch(il, JitHelpers.Jmp, 0, op.Imm, op.Size); break;
                case Op.Call: EmitBranch(il, JitHelpers.Call, 0, op.Imm, op.Size); break;
                case Op.Ret: EmitBranch(il, JitHelpers.Ret, 0, 0, op.Size); break;
                default:
                    if (op.Op != Op.Nop) EmitOp(il, op);
                    // The fused branch is taken or not after the compare, whatever the compare did to _stop, as in the interpreter.
                    if ((op.Flags & OpFlags.FusedJcc) != 0)
                        EmitBranch(il, op.Op switch
                        {
                            Op.CmpRR or Op.CmpRI or Op.CmpRM or Op.CmpMR or Op.CmpMI or Op.SubRR or Op.SubRI => JitHelpers.FusedSub,
                            Op.TestRR or Op.TestRI or Op.AndRR or Op.AndRI => JitHelpers.FusedLogic,
                            _ => JitHelpers.Fused,
                        }, op.Cond, op.Imm2, op.Size2);
                    break;
            }
            EmitRetireLast(il);
            il.Emit(OpCodes.Ldc_I4, ~(first + end));
            il.Emit(OpCodes.Ret);
            return Warm(dm.CreateDelegate<Func<bool, int>>(new BlockState(vcpu, ops)));
        }
        EmitRetireLast(il);
        il.Emit(OpCodes.Ldc_I4, first + end);
        il.Emit(OpCodes.Ret);
        return Warm(dm.CreateDelegate<Func<bool, int>>(new BlockState(vcpu, ops)));
    }

    /// <summary>Makes the JIT translate the code now, on the compiling thread (the code returns at once when warming up).</summary>
    private static Func<bool, int> Warm(Func<bool, int> code)
    {
        code(true);
        return code;
    }

    private static void EmitStep(ILGenerator il, in MicroOp op, bool retirePrevious)
    {
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Ldc_I4, (int)op.Len);
        il.Emit(retirePrevious ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Call, JitHelpers.Step);
    }

    /// <summary>helper(v, cond, imm, size) for the branch helpers.</summary>
    private static void EmitBranch(ILGenerator il, MethodInfo helper, int cond, ulong imm, int size)
    {
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Ldc_I4, cond);
        il.Emit(OpCodes.Ldc_I8, (long)imm);
        il.Emit(OpCodes.Ldc_I4, size);
        il.Emit(OpCodes.Call, helper);
    }

    /// <summary>helper(v, r0, r1, size, size2, imm, address) for the op's own helper.</summary>
    private static void EmitOp(ILGenerator il, in MicroOp op)
    {
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Ldc_I4, (int)op.R0);
        il.Emit(OpCodes.Ldc_I4, (int)op.R1);
        il.Emit(OpCodes.Ldc_I4, (int)op.Size);
        il.Emit(OpCodes.Ldc_I4, (int)op.Size2);
        il.Emit(OpCodes.Ldc_I8, (long)op.Imm);
        if (UsesMemory(op.Op) || op.Op == Op.Lea)
        {
            il.Emit(OpCodes.Ldloc_0);
            il.Emit(OpCodes.Ldc_I4, (int)op.MemBase);
            il.Emit(OpCodes.Ldc_I4, (int)op.MemIndex);
            il.Emit(OpCodes.Ldc_I4, (int)op.MemScale);
            il.Emit(OpCodes.Ldc_I8, op.Disp);
            il.Emit(OpCodes.Ldc_I4, (int)op.AddrSize);
            if (op.Op == Op.Lea) il.Emit(OpCodes.Call, JitHelpers.Ea);
            else
            {
                il.Emit(OpCodes.Ldc_I4, (int)op.MemSeg);
                il.Emit(OpCodes.Call, JitHelpers.Lin);
            }
        }
        else il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Call, JitHelpers.Helper("J" + op.Op));
    }

    /// <summary>Retires the op just done: each op retires the one before it, so an op that faults or exits is not counted.</summary>
    private static void EmitRetireLast(ILGenerator il)
    {
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Call, JitHelpers.Retire);
    }

    // The helpers below mirror the cases of Execute one for one; compiled code passes every operand as a constant.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JStep(EmulatedVcpu v, int len, int retirePrevious)
    {
        v._retired += retirePrevious;
        v._instrStart = v._rip;
        v._rip += (ulong)len;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JRetire(EmulatedVcpu v, int n) => v._retired += n;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool JStopped(EmulatedVcpu v) => v._stop;

    /// <summary>An op without compiled code inside a compiled block: the interpreter runs it.</summary>
    private static void JInterp(BlockState state, int i)
    {
        ref MicroOp op = ref state.Ops[i];
        if ((op.Flags & OpFlags.Lock) == 0) state.Vcpu.Execute(ref op);
        else state.Vcpu.ExecuteLocked(ref op);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JJcc(EmulatedVcpu v, int cc, ulong imm, int s)
    {
        if (v.Cond(cc)) v._rip = (v._rip + imm) & Mask(s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JJmp(EmulatedVcpu v, int cc, ulong imm, int s) => v._rip = (v._rip + imm) & Mask(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JCall(EmulatedVcpu v, int cc, ulong imm, int s)
    {
        v.Push(v._rip, s);
        v._rip = (v._rip + imm) & Mask(s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JRet(EmulatedVcpu v, int cc, ulong imm, int s) => v._rip = v.Pop(s);

    /// <summary>
    /// The branch after a compare or subtract: the condition straight from its operands (the lazy
    /// flags hold them), folded by the JIT to one comparison since <paramref name="cc"/> is a constant.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JFusedSub(EmulatedVcpu v, int cc, ulong imm, int s)
    {
        v._retired++;
        ulong a = v._la, b = v._lb;
        int sh = 64 - v._lbits;
        bool taken = cc switch
        {
            2 => a < b,
            3 => a >= b,
            4 => a == b,
            5 => a != b,
            6 => a <= b,
            7 => a > b,
            12 => (long)(a << sh) < (long)(b << sh),
            13 => (long)(a << sh) >= (long)(b << sh),
            14 => (long)(a << sh) <= (long)(b << sh),
            15 => (long)(a << sh) > (long)(b << sh),
            _ => v.Cond(cc),
        };
        if (taken) v._rip = (v._rip + imm) & Mask(s);
    }

    /// <summary>The branch after a test or and: ZF and SF straight from the result (CF and OF are clear).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JFusedLogic(EmulatedVcpu v, int cc, ulong imm, int s)
    {
        v._retired++;
        ulong r = v._lr;
        bool sf = ((r >> (v._lbits - 1)) & 1) != 0;
        bool taken = cc switch
        {
            4 => r == 0,
            5 => r != 0,
            8 => sf,
            9 => !sf,
            _ => v.Cond(cc),
        };
        if (taken) v._rip = (v._rip + imm) & Mask(s);
    }

    /// <summary>The branch half of a compare-and-branch, which retires as a second instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JFused(EmulatedVcpu v, int cc, ulong imm, int s)
    {
        v._retired++;
        if (v.Cond(cc)) v._rip = (v._rip + imm) & Mask(s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong JEa(EmulatedVcpu v, int b, int x, int scale, long disp, int addrSize)
    {
        ulong a = (ulong)disp;
        if (b != MicroOp.NoReg) a += b == MicroOp.RipBase ? v._rip : v._r[b];
        if (x != MicroOp.NoReg) a += v._r[x] << scale;
        if (addrSize != 8) a &= addrSize == 4 ? 0xFFFF_FFFFUL : 0xFFFF;
        return a;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong JLin(EmulatedVcpu v, int b, int x, int scale, long disp, int addrSize, int seg) =>
        (JEa(v, b, x, scale, disp, addrSize) + v._effBase[seg]) & v._linMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JMovRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, v._r[r1]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JMovRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JLoad(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, v.ReadMem(a, s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JStore(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.WriteMem(a, s, v._r[r1]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JStoreImm(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.WriteMem(a, s, imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JPushR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.Push(v._r[r0], s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JPopR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, v.Pop(s));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JIncR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a)
    {
        ulong x = v._r[r0] & Mask(s), r = (x + 1) & Mask(s);
        v._lc = v.Cf;
        v.SetReg(r0, s, r);
        v.SetLazy(LazyOp.Inc, x, 1, r, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JDecR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a)
    {
        ulong x = v._r[r0] & Mask(s), r = (x - 1) & Mask(s);
        v._lc = v.Cf;
        v.SetReg(r0, s, r);
        v.SetLazy(LazyOp.Dec, x, 1, r, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JAddRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.AddReg(r0, s, v._r[r1] & Mask(s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JAddRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.AddReg(r0, s, imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JAddRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.AddReg(r0, s, v.ReadMem(a, s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JSubRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SubReg(r0, s, v._r[r1] & Mask(s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JSubRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SubReg(r0, s, imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JSubRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SubReg(r0, s, v.ReadMem(a, s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JCmpRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.Compare(v._r[r0] & Mask(s), v._r[r1] & Mask(s), s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JCmpRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.Compare(v._r[r0] & Mask(s), imm, s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JCmpRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.Compare(v._r[r0] & Mask(s), v.ReadMem(a, s), s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JCmpMR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.Compare(v.ReadMem(a, s), v._r[r1] & Mask(s), s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JCmpMI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.Compare(v.ReadMem(a, s), imm, s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JAndRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] & v._r[r1]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JAndRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] & imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JOrRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] | v._r[r1]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JOrRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] | imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JXorRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] ^ v._r[r1]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JXorRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] ^ imm);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JAndRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] & v.ReadMem(a, s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JOrRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] | v.ReadMem(a, s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JXorRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.LogicReg(r0, s, v._r[r0] ^ v.ReadMem(a, s));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JTestRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetLazy(LazyOp.Logic, 0, 0, v._r[r0] & v._r[r1] & Mask(s), s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JTestRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetLazy(LazyOp.Logic, 0, 0, v._r[r0] & imm, s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JMovzxRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, v._r[r1] & Mask(s2));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JMovzxRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, v.ReadMem(a, s2));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JMovsxRR(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, SignExtend(v._r[r1] & Mask(s2), s2));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JMovsxRM(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, SignExtend(v.ReadMem(a, s2), s2));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JLea(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a) => v.SetReg(r0, s, a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JShlRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a)
    {
        ulong x = v._r[r0] & Mask(s), r = (x << (int)imm) & Mask(s);
        v.SetReg(r0, s, r);
        v.SetLazy(LazyOp.Shl, x, imm, r, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JShrRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a)
    {
        ulong x = v._r[r0] & Mask(s), r = x >> (int)imm;
        v.SetReg(r0, s, r);
        v.SetLazy(LazyOp.Shr, x, imm, r, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JSarRI(EmulatedVcpu v, int r0, int r1, int s, int s2, ulong imm, ulong a)
    {
        ulong x = v._r[r0] & Mask(s), r = (ulong)((long)SignExtend(x, s) >> (int)imm) & Mask(s);
        v.SetReg(r0, s, r);
        v.SetLazy(LazyOp.Sar, x, imm, r, s);
    }
}
