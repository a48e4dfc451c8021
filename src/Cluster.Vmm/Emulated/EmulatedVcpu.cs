using System.Runtime.CompilerServices;
using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;
using Iced.Intel;

namespace Cluster.Vmm.Emulated;

/// <summary>
/// One vCPU of the software x86-64 backend: an interpreter of pre-decoded micro-ops cached per
/// guest-physical page, with the KVM-shaped exits of <see cref="IVcpu"/>. <see cref="Run"/> runs on
/// the calling thread; <see cref="Kick"/> may be called from any thread.
/// </summary>
[SkipLocalsInit]
public sealed unsafe partial class EmulatedVcpu : IVcpu
{
    internal const int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
    internal const int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    private const int MaxBlockOps = 64;
    private const int BlocksPerSlice = 64;

    private readonly EmulatedVm _vm;
    /// <summary>The 16 GPRs, on the pinned object heap so that the interpreter indexes them through <see cref="_r"/> without bounds checks.</summary>
    private readonly ulong[] _regs = GC.AllocateArray<ulong>(16, pinned: true);
    private readonly ulong* _r;
    private ulong _rip;
    private readonly Segment[] _seg = new Segment[6];
    private Segment _tr, _ldt;
    private DescriptorTable _gdt, _idt;
    private ulong _cr0, _cr2, _cr3, _cr4, _cr8, _efer, _apicBase;
    private readonly ulong[] _dr = new ulong[8];

    /// <summary>Segment bases as address computations use them (0 for ES/CS/SS/DS in 64-bit mode), pinned like the GPRs.</summary>
    private readonly ulong[] _effBaseArr = GC.AllocateArray<ulong>(6, pinned: true);
    private readonly ulong* _effBase;
    private int _bitness;
    private bool _mode64;
    private int _cpl;
    private ulong _stackMask;
    private int _stackSize;

    private ulong _instrStart;
    private bool _stop;
    private bool _hasExit;
    private VcpuExit _exit;
    private bool _halted;
    private bool _shadow;
    private volatile bool _kicked;
    private long _retired;
    private readonly GuestClock _guestClock = new();
    private int _pollCountdown = 1;
    private int _memGeneration = -1;
    /// <summary>Changes on every TLB flush and mode change; block links are valid only within one epoch.</summary>
    private int _epoch;

    private readonly CodeCache _code;

    internal EmulatedVcpu(EmulatedVm vm, int id, int maxCodePages = CodeCache.DefaultMaxPages)
    {
        _vm = vm;
        Id = id;
        _code = new CodeCache(maxCodePages);
        // SAFETY: _regs lives on the pinned object heap, so it never moves and stays alive as long as
        // this object; every index used (register numbers 0-15 from the decoder) is inside its 16 words.
        _r = (ulong*)Unsafe.AsPointer(ref _regs[0]);
        // SAFETY: as for _r; segment indices come from the decoder (0-5).
        _effBase = (ulong*)Unsafe.AsPointer(ref _effBaseArr[0]);
        Reset();
    }

    public int Id { get; }

    /// <summary>Instructions retired since creation (for benchmarks and load accounting).</summary>
    public long RetiredInstructions => Interlocked.Read(ref _retired);

    public TimeSpan GuestTime => _guestClock.Elapsed;

    /// <summary>The bound, the pages held and the evictions of this vCPU's decoded-code cache (for tests and benchmarks).</summary>
    internal CodeCache CodeCache => _code;

    /// <summary>Power-on state: real mode at F000:FFF0, as the architecture defines it.</summary>
    private void Reset()
    {
        Array.Clear(_regs);
        _rip = 0xFFF0;
        SetFlags(2);
        for (int i = 0; i < 6; i++)
            _seg[i] = new Segment { Selector = 0, Base = 0, Limit = 0xFFFF, Type = 3, S = true, Present = true };
        _seg[CS] = new Segment { Selector = 0xF000, Base = 0xFFFF0000, Limit = 0xFFFF, Type = 0xB, S = true, Present = true };
        _tr = new Segment { Limit = 0xFFFF, Type = 0xB, Present = true };
        _ldt = new Segment { Limit = 0xFFFF, Type = 2, Present = true };
        _gdt = new DescriptorTable { Limit = 0xFFFF };
        _idt = new DescriptorTable { Limit = 0xFFFF };
        _cr0 = 0x60000010;
        _apicBase = 0xFEE00000 | (Id == 0 ? 0x100UL : 0) | 0x800;
        _pat = 0x0007040600070406UL;
        _r[RDX] = 0x600;
        UpdateMode();
    }

    /// <summary>Recomputes the derived mode state after a change of CS, SS, CR0, EFER or a segment base.</summary>
    private void UpdateMode()
    {
        _epoch++;
        bool lma = (_efer & CpuBits.EferLma) != 0;
        _mode64 = lma && _seg[CS].L;
        _bitness = _mode64 ? 64 : _seg[CS].Db ? 32 : 16;
        _linMask = lma ? ulong.MaxValue : 0xFFFF_FFFFUL;
        for (int i = 0; i < 6; i++) _effBase[i] = _mode64 && i < FS ? 0 : _seg[i].Base;
        _cpl = (_cr0 & CpuBits.Cr0Pe) == 0 ? 0 : _seg[CS].Dpl;
        _tlbKey = _cpl == 3 ? 3UL : 1UL;
        _stackSize = _mode64 ? 8 : _seg[SS].Db ? 4 : 2;
        _stackMask = Mask(_stackSize);
    }

    public void Kick()
    {
        _kicked = true;
        _vm.WakeAll();
    }

    public VcpuExit Run()
    {
        if (_vm.Memory.Missing is { Failure: { } lost })
            return VcpuExit.InternalError(lost, _rip, null);
        _guestClock.Enter();
        try
        {
            return RunLoop();
        }
        catch (VmmException ex) when (ex.Operation == MissingPages.Operation)
        {
            return VcpuExit.InternalError(ex.Message, _instrStart, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return VcpuExit.InternalError($"emulator failure: {ex.GetType().Name}: {ex.Message}", _instrStart, TryReadBytes(_instrStart), 1);
        }
        finally
        {
            _guestClock.Leave();
        }
    }

    private VcpuExit RunLoop()
    {
        if (_memGeneration != _vm.MemoryGeneration)
        {
            _memGeneration = _vm.MemoryGeneration;
            FlushTlb(all: true);
            _code.Flush();
            ForgetCodePages();
        }
        _hasExit = false;
        while (true)
        {
            if (_kicked)
            {
                _kicked = false;
                return VcpuExit.Interrupted;
            }
            if (Id == 0 && --_pollCountdown <= 0)
            {
                _pollCountdown = 16;
                _vm.PollTimers();
            }
            if (_halted)
            {
                if ((_flags & IF) != 0 && Id == 0 && _vm.InterruptPending) _halted = false;
                else
                {
                    // A halted vCPU waits off the clock: an idle guest does not read as busy.
                    _guestClock.Leave();
                    _vm.WaitForEvent(this);
                    _guestClock.Enter();
                    continue;
                }
            }
            if (_readCount != 0)
            {
                ReplayReadingInstruction();
                if (_hasExit) return TakeExit();
                continue;
            }
            if (_shadow) _shadow = false;
            else if (Id == 0 && (_flags & IF) != 0 && _vm.InterruptPending)
            {
                int vector = _vm.AcknowledgeInterrupt();
                _instrStart = _rip;
                try
                {
                    DeliverInterrupt(vector, 0, false, false);
                }
                catch (GuestFault f)
                {
                    HandleFault(f);
                }
                if (_hasExit) return TakeExit();
            }
            try
            {
                ExecuteBlocks();
            }
            catch (GuestFault f)
            {
                _rip = _instrStart;
                CommitReads();
                HandleFault(f);
            }
            catch (ExitRestart)
            {
                _rip = _instrStart;
                _readCursor = 0;
            }
            if (_hasExit) return TakeExit();
        }
    }

    private VcpuExit TakeExit()
    {
        _hasExit = false;
        return _exit;
    }

    private void SetExit(in VcpuExit exit)
    {
        _exit = exit;
        _hasExit = true;
        _stop = true;
    }

    /// <summary>Delivers an exception; a fault while delivering becomes #DF, and one while delivering #DF a triple fault.</summary>
    private void HandleFault(GuestFault f)
    {
        try
        {
            DeliverInterrupt(f.Vector, f.ErrorCode, f.HasErrorCode, false);
        }
        catch (GuestFault second)
        {
            if (f.Vector == 8)
            {
                SetExit(VcpuExit.Shutdown($"triple fault: vector {second.Vector} while delivering #DF at 0x{_instrStart:x}"));
                return;
            }
            try
            {
                DeliverInterrupt(8, 0, true, false);
            }
            catch (GuestFault third)
            {
                SetExit(VcpuExit.Shutdown($"triple fault: vector {third.Vector} while delivering #DF (first {f.Vector}, then {second.Vector}) at 0x{_instrStart:x}"));
            }
        }
    }

    /// <summary>
    /// Runs chained blocks of pre-decoded micro-ops from RIP until an exit, a stop request, a pending
    /// interrupt, a Kick, or a budget of blocks, so that the run loop's checks stay off the hot path.
    /// </summary>
    private void ExecuteBlocks()
    {
        _stop = false;
        int budget = BlocksPerSlice;
        while (true)
        {
            ulong lin = (_effBase[CS] + _rip) & _linMask;
            _instrStart = _rip;
            ref var ie = ref _itlb[(int)(lin >> 12) & TlbMask];
            CodePage cp;
            if (ie.Tag == ((lin & ~0xFFFUL) | _tlbKey) && ie.Page.Valid && ie.Page.Bitness == _bitness) cp = ie.Page;
            else cp = LookupCodePage(lin);
            int idx = cp.Entry[(int)(lin & 0xFFF)] - 1;
            if (idx < 0) idx = DecodeBlock(cp, (int)(lin & 0xFFF), lin);
            ulong page = lin & ~0xFFFUL;
            int epoch = _epoch;
            var ops = cp.Ops;
            while (true)
            {
                idx = RunCompiled(cp, idx);
                if (_stop) return;
                // A compiled block that ran to its end returns the complement of its last op.
                if (idx < 0) idx = ~idx;
                else
                {
                    while (true)
                    {
                        ref MicroOp op = ref ops[idx];
                        _instrStart = _rip;
                        _rip += op.Len;
                        if ((op.Flags & OpFlags.Lock) == 0) Execute(ref op);
                        else ExecuteLocked(ref op);
                        _retired++;
                        if ((op.Flags & OpFlags.EndsBlock) != 0 || _stop)
                        {
                            if ((op.Flags & OpFlags.FusedJcc) != 0)
                            {
                                _retired++;
                                if (Cond(op.Cond)) _rip = (_rip + op.Imm2) & Mask(op.Size2);
                            }
                            break;
                        }
                        idx++;
                    }
                }
                int last = idx;
                if (_stop || --budget == 0 || _kicked || ((_flags & IF) != 0 && Id == 0 && _vm.InterruptPending)) return;
                if (epoch != _epoch || !cp.Valid) break;
                // Block linking: follow a cached successor in the same page without a lookup.
                ulong rip = _rip;
                ref var link = ref cp.Links[last];
                if (link.Rip0 == rip && link.Idx0 != 0) idx = link.Idx0 - 1;
                else if (link.Rip1 == rip && link.Idx1 != 0) idx = link.Idx1 - 1;
                else
                {
                    ulong nl = (_effBase[CS] + rip) & _linMask;
                    if ((nl & ~0xFFFUL) != page) break;
                    int next = cp.Entry[(int)(nl & 0xFFF)] - 1;
                    if (next < 0)
                    {
                        next = DecodeBlock(cp, (int)(nl & 0xFFF), nl);
                        ops = cp.Ops;
                    }
                    link = ref cp.Links[last];
                    link.Rip1 = link.Rip0;
                    link.Idx1 = link.Idx0;
                    link.Rip0 = rip;
                    link.Idx0 = next + 1;
                    idx = next;
                }
                _instrStart = rip;
            }
        }
    }

    private CodePage LookupCodePage(ulong lin)
    {
        ulong gpa = Translate(lin, Access.Fetch);
        bool global = _lastGlobal;
        var reg = _vm.ResolveRegion(gpa);
        if (reg is null)
        {
            SetExit(VcpuExit.InternalError($"instruction fetch from unbacked guest-physical address 0x{gpa:x}", gpa, null));
            throw ExitRestart.Instance;
        }
        ulong page = (gpa - reg.Gpa) >> 12;
        reg.MarkCode(page);
        ulong key = ((gpa >> 12) << 2) | (uint)(_bitness >> 5);
        if (!_code.TryGet(key, out var cp))
        {
            cp = _code.Add(key, gpa >> 12, _bitness, out bool flushed);
            if (flushed) ForgetCodePages();
        }
        ref var ie = ref _itlb[(int)(lin >> 12) & TlbMask];
        ie.Tag = (lin & ~0xFFFUL) | _tlbKey;
        ie.Page = cp;
        ie.Global = global;
        return cp;
    }

    /// <summary>Drops the decoded code of a guest-physical page (called from any thread).</summary>
    internal void InvalidateCodePage(ulong physPage)
    {
        for (uint b = 0; b < 3; b++) _code.Remove((physPage << 2) | b);
    }

    /// <summary>
    /// After the code cache was flushed: drops the ITLB's references to the pages it held, so that they
    /// are freed (the entries would miss anyway, the pages being invalid), and starts a new translation epoch.
    /// </summary>
    private void ForgetCodePages()
    {
        _epoch++;
        Array.Clear(_itlb);
    }

    private int DecodeBlock(CodePage cp, int off, ulong lin)
    {
        var reg = _vm.FindRegion(cp.PhysPage << 12)!;
        // SAFETY: the page is inside the region (it was found by its address), so its 4 KiB are mapped.
        byte* page = reg.Host + ((cp.PhysPage << 12) - reg.Gpa);
        var decoder = Decoder.Create(cp.Bitness, new PointerCodeReader(page + off, 4096 - off), lin);
        int start = cp.Count;
        int pos = off;
        for (int n = 0; ; n++)
        {
            decoder.Decode(out var ins);
            MicroOp m;
            if (ins.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes)
                m = new MicroOp { Op = Op.CrossPage, Flags = OpFlags.EndsBlock };
            else
            {
                m = MicroOpBuilder.Build(ins, cp.Bitness);
                pos += ins.Length;
                if (pos >= 4096 || n >= MaxBlockOps - 1) m.Flags |= OpFlags.EndsBlock;
                if (m.Op == Op.Jcc && cp.Count > start && MicroOpBuilder.Fuse(ref cp.Ops[cp.Count - 1], m)) break;
            }
            cp.Append(m);
            if ((m.Flags & OpFlags.EndsBlock) != 0) break;
        }
        cp.Entry[off] = start + 1;
        return start;
    }

    /// <summary>
    /// Executes the instruction at <see cref="_instrStart"/> fetched and decoded afresh, never cached: one
    /// that straddles two pages, or one replayed with its completed exit reads.
    /// </summary>
    private void ExecuteUncached()
    {
        var bytes = new byte[15];
        ulong lin = (_effBase[CS] + _instrStart) & _linMask;
        int have = 0;
        for (; have < 15; have++)
        {
            ulong a = (lin + (ulong)have) & _linMask;
            ulong gpa = Translate(a, Access.Fetch);
            var reg = _vm.ResolveRegion(gpa);
            if (reg is null) break;
            // SAFETY: gpa is inside the region.
            bytes[have] = reg.Host[gpa - reg.Gpa];
        }
        var decoder = Decoder.Create(_bitness, new ByteArrayCodeReader(bytes, 0, have), lin);
        decoder.Decode(out var ins);
        var m = MicroOpBuilder.Build(ins, _bitness);
        _rip = _instrStart + (ulong)ins.Length;
        if (m.Op is Op.Invalid or Op.CrossPage) UnknownInstruction();
        else if ((m.Flags & OpFlags.Lock) != 0) ExecuteLocked(ref m);
        else Execute(ref m);
    }

    private void UnknownInstruction()
    {
        _rip = _instrStart;
        ulong lin = (_effBase[CS] + _instrStart) & _linMask;
        SetExit(VcpuExit.InternalError("undecodable or unimplemented instruction", lin, TryReadBytes(_instrStart)));
    }

    /// <summary>Up to 15 instruction bytes at a CS-relative address, for error reports; never throws.</summary>
    private byte[]? TryReadBytes(ulong ip)
    {
        ulong cr2 = _cr2;
        try
        {
            var bytes = new List<byte>();
            ulong lin = (_effBase[CS] + ip) & _linMask;
            for (int i = 0; i < 15; i++)
            {
                ulong gpa = Translate((lin + (ulong)i) & _linMask, Access.Read);
                var reg = _vm.FindRegion(gpa);
                if (reg is null) break;
                // SAFETY: gpa is inside the region.
                bytes.Add(reg.Host[gpa - reg.Gpa]);
            }
            return [.. bytes];
        }
        catch (GuestFault)
        {
            return null;
        }
        finally
        {
            _cr2 = cr2;
        }
    }

    public void Dispose()
    {
        _code.Flush();
    }
}
