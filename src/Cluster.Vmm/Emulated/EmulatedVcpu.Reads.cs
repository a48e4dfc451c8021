using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>
/// MMIO and port reads that leave <see cref="Run"/>: the instruction unwinds, the VMM supplies the
/// value with <see cref="CompleteRead"/>, and the instruction restarts. An instruction may make
/// several such reads (CMPS between two MMIO addresses, a split access to MMIO): the values
/// completed so far are kept in order and handed back to the restarted instruction, read by read,
/// until it completes (or, for a REP string instruction, until the element that made them does).
/// </summary>
public sealed unsafe partial class EmulatedVcpu
{
    /// <summary>The most exit reads one instruction may make (a CMPSQ with both operands split over MMIO makes 16).</summary>
    private const int MaxReadsPerInstruction = 16;
    /// <summary>Marks a port number among the keys of completed reads, which are otherwise guest-physical addresses.</summary>
    private const ulong IoTag = 1UL << 63;

    private readonly ulong[] _readKeys = new ulong[MaxReadsPerInstruction];
    private readonly ulong[] _readValues = new ulong[MaxReadsPerInstruction];
    private readonly int[] _readSizes = new int[MaxReadsPerInstruction];
    /// <summary>Reads completed for the current instruction, and how many of them its current attempt has used.</summary>
    private int _readCount, _readCursor;
    private bool _readPending;
    private ulong _pendingKey;
    private int _pendingSize;

    public void CompleteRead(ulong value)
    {
        if (!_readPending) return;
        _readPending = false;
        _readKeys[_readCount] = _pendingKey;
        _readSizes[_readCount] = _pendingSize;
        _readValues[_readCount] = value;
        _readCount++;
    }

    /// <summary>The value of the next exit read of this instruction: a completed one, or an exit that asks the VMM for it.</summary>
    private ulong TakeRead(ulong key, int size)
    {
        if (_readCursor < _readCount)
        {
            int i = _readCursor;
            if (_readKeys[i] == key && _readSizes[i] == size)
            {
                _readCursor++;
                return _readValues[i] & Mask(size);
            }
            // The restarted instruction took another path (memory changed meanwhile): later values do not apply.
            _readCount = i;
        }
        if (_readCount == MaxReadsPerInstruction)
        {
            CommitReads();
            SetExit(VcpuExit.InternalError($"an instruction made more than {MaxReadsPerInstruction} MMIO or port reads", _instrStart, TryReadBytes(_instrStart)));
            throw ExitRestart.Instance;
        }
        _readPending = true;
        _pendingKey = key;
        _pendingSize = size;
        SetExit((key & IoTag) != 0 ? VcpuExit.IoIn((ushort)key, size) : VcpuExit.MmioRead(key, size));
        throw ExitRestart.Instance;
    }

    /// <summary>The instruction (or REP element) that made the completed reads is done: they are not replayed again.</summary>
    private void CommitReads()
    {
        _readCount = 0;
        _readCursor = 0;
    }

    /// <summary>
    /// Runs the instruction that an exit read interrupted, on its own and decoded afresh, so that no
    /// other instruction consumes its completed reads; then drops them unless it exits again.
    /// </summary>
    private void ReplayReadingInstruction()
    {
        _stop = false;
        _instrStart = _rip;
        try
        {
            ExecuteUncached();
            _retired++;
        }
        catch (GuestFault f)
        {
            _rip = _instrStart;
            CommitReads();
            HandleFault(f);
            return;
        }
        catch (ExitRestart)
        {
            _rip = _instrStart;
            _readCursor = 0;
            return;
        }
        CommitReads();
    }

    private void SaveReads(BinaryWriter w)
    {
        w.Write(_readPending);
        w.Write(_pendingKey);
        w.Write(_pendingSize);
        w.Write(_readCount);
        for (int i = 0; i < _readCount; i++)
        {
            w.Write(_readKeys[i]);
            w.Write(_readSizes[i]);
            w.Write(_readValues[i]);
        }
    }

    private void LoadReads(BinaryReader r)
    {
        _readPending = r.ReadBoolean();
        _pendingKey = r.ReadUInt64();
        _pendingSize = r.ReadInt32();
        _readCount = r.ReadInt32();
        if (_readCount is < 0 or > MaxReadsPerInstruction) throw new VmmException($"vCPU state holds {_readCount} completed reads", "restore");
        _readCursor = 0;
        for (int i = 0; i < _readCount; i++)
        {
            _readKeys[i] = r.ReadUInt64();
            _readSizes[i] = r.ReadInt32();
            _readValues[i] = r.ReadUInt64();
        }
    }
}
