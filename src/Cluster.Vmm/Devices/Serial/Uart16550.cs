namespace Cluster.Vmm.Devices.Serial;

/// <summary>
/// A 16550A UART (COM1 lives at ports 0x3f8-0x3ff, IRQ 4). Registers: RBR/THR, IER, IIR/FCR, LCR
/// (with DLAB and the divisor latch), MCR (with loopback), LSR, MSR, SCR. Transmission is
/// instant: THR is always empty, and written bytes are buffered and handed to
/// <see cref="Output"/> subscribers in batches (at a newline, when the buffer fills, and on
/// <see cref="Flush"/>, which the machine calls every 20 ms, on pause and at exit), so that a guest
/// polling LSR before each byte does not cost a subscriber call per byte. With <see cref="QuietFlush"/> set (the machine
/// sets it to its flush period), a byte that finds the buffer empty after that long without output is handed over at once:
/// the first byte of a burst (a prompt, the first character typed back) does not wait for the next periodic flush. Received bytes come from the host
/// through <see cref="Input"/> into a receive FIFO of <see cref="ReceiveCapacity"/> bytes; the
/// "data available" interrupt fires as soon as one byte waits (trigger level 1, no character
/// timeout). The interrupt line is driven through the callback given at construction, and only
/// when its level changes.
/// </summary>
public sealed class Uart16550 : IPortDevice, ISnapshottable
{
    /// <summary>COM1's first port.</summary>
    public const ushort Com1Port = 0x3f8;

    /// <summary>COM1's ISA interrupt line.</summary>
    public const int Com1Irq = 4;

    /// <summary>Number of ports the UART occupies.</summary>
    public const int PortCount = 8;

    /// <summary>Bytes the receive FIFO holds before input is refused (and the overrun bit set).</summary>
    public const int ReceiveCapacity = 4096;

    private const int TransmitBufferSize = 512;
    private const byte StateVersion = 1;

    // Register offsets.
    private const int RbrThrDll = 0, IerDlm = 1, IirFcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    // Bits.
    private const byte IerRdi = 0x01, IerThri = 0x02, IerRlsi = 0x04, IerMsi = 0x08;
    private const byte IirNoInt = 0x01, IirRdi = 0x04, IirThri = 0x02, IirRlsi = 0x06, IirMsi = 0x00, IirFifoEnabled = 0xc0;
    private const byte FcrEnable = 0x01, FcrClearRx = 0x02;
    private const byte LcrDlab = 0x80;
    private const byte McrDtr = 0x01, McrRts = 0x02, McrOut1 = 0x04, McrOut2 = 0x08, McrLoop = 0x10;
    private const byte LsrDr = 0x01, LsrOe = 0x02, LsrThre = 0x20, LsrTemt = 0x40;
    private const byte MsrDcts = 0x01, MsrDdsr = 0x02, MsrTeri = 0x04, MsrDdcd = 0x08, MsrCts = 0x10, MsrDsr = 0x20, MsrRi = 0x40, MsrDcd = 0x80;
    private const byte MsrAnyDelta = 0x0f;

    private readonly object _gate = new();
    private readonly Action<bool> _setIrq;
    private readonly byte[] _rx = new byte[ReceiveCapacity];
    private int _rxHead, _rxCount;
    private readonly byte[] _tx = new byte[TransmitBufferSize];
    private int _txCount;
    private byte _ier, _fcr, _lcr = 0x03, _mcr = McrOut2, _msr = MsrDcd | MsrDsr | MsrCts, _scr, _dll = 0x0c, _dlm;
    private bool _overrun, _thrInterruptPending, _irqLevel;
    private long _lastFlush;
    private long _quietFlushTicks;

    /// <summary>A UART whose interrupt line is driven by <paramref name="setIrq"/> (true raises, false lowers).</summary>
    public Uart16550(Action<bool> setIrq)
    {
        _setIrq = setIrq ?? throw new ArgumentNullException(nameof(setIrq));
    }

    /// <summary>Bytes the guest transmitted, in batches. See <see cref="SerialOutputHandler"/>.</summary>
    public event SerialOutputHandler? Output;

    /// <inheritdoc />
    public string Name => "uart0";

    /// <inheritdoc />
    int ISnapshottable.StateVersion => StateVersion;

    /// <summary>
    /// When set, a transmitted byte that finds the buffer empty and follows the previous hand-over by at least this long is
    /// handed over at once (the rest of its burst is batched as usual). Null (the default): batched until a newline, a full
    /// buffer or <see cref="Flush"/>.
    /// </summary>
    public TimeSpan? QuietFlush
    {
        get { lock (_gate) return _quietFlushTicks == 0 ? null : TimeSpan.FromTicks(_quietFlushTicks * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency); }
        set
        {
            if (value is { } v && v <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(value), "the quiet period must be positive");
            lock (_gate) _quietFlushTicks = value is { } q ? Math.Max(1, (long)(q.TotalSeconds * System.Diagnostics.Stopwatch.Frequency)) : 0;
        }
    }

    /// <summary>Bytes waiting in the receive FIFO.</summary>
    public int PendingInput { get { lock (_gate) return _rxCount; } }

    /// <summary>The divisor latch (DLM:DLL) the guest programmed; the baud rate is 115200 / divisor.</summary>
    public ushort Divisor { get { lock (_gate) return (ushort)(_dll | _dlm << 8); } }

    /// <summary>The current level of the interrupt line.</summary>
    public bool IrqLevel { get { lock (_gate) return _irqLevel; } }

    /// <summary>Queues bytes for the guest to receive; returns how many fit (the rest are lost and the overrun bit is set).</summary>
    public int Input(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            int accepted = 0;
            foreach (var b in bytes)
            {
                if (!Receive(b)) break;
                accepted++;
            }
            UpdateIrq();
            return accepted;
        }
    }

    /// <summary>Hands buffered output to the subscribers now.</summary>
    public void Flush()
    {
        lock (_gate) FlushLocked();
    }

    /// <inheritdoc />
    public ulong Read(ushort offset, int size)
    {
        lock (_gate)
        {
            byte value = ReadRegister(offset);
            UpdateIrq();
            return value;
        }
    }

    /// <inheritdoc />
    public void Write(ushort offset, int size, ulong value)
    {
        lock (_gate)
        {
            WriteRegister(offset, (byte)value);
            UpdateIrq();
        }
    }

    private byte ReadRegister(int offset)
    {
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (offset)
        {
            case RbrThrDll:
                if (dlab) return _dll;
                if (_rxCount == 0) return 0;
                byte b = _rx[_rxHead];
                _rxHead = (_rxHead + 1) % ReceiveCapacity;
                _rxCount--;
                return b;
            case IerDlm:
                return dlab ? _dlm : _ier;
            case IirFcr:
                byte iir = CurrentInterrupt();
                if (iir == IirThri) _thrInterruptPending = false;
                return (byte)(iir | ((_fcr & FcrEnable) != 0 ? IirFifoEnabled : 0));
            case Lcr:
                return _lcr;
            case Mcr:
                return _mcr;
            case Lsr:
                byte lsr = LineStatus();
                _overrun = false;
                return lsr;
            case Msr:
                byte msr = _msr;
                _msr &= unchecked((byte)~MsrAnyDelta);
                return msr;
            default:
                return _scr;
        }
    }

    private void WriteRegister(int offset, byte value)
    {
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (offset)
        {
            case RbrThrDll:
                if (dlab) { _dll = value; return; }
                Transmit(value);
                _thrInterruptPending = true;
                return;
            case IerDlm:
                if (dlab) { _dlm = value; return; }
                byte old = _ier;
                _ier = (byte)(value & 0x0f);
                if ((_ier & IerThri) != 0 && (old & IerThri) == 0) _thrInterruptPending = true;
                return;
            case IirFcr:
                if (((value ^ _fcr) & FcrEnable) != 0 || (value & FcrClearRx) != 0)
                {
                    _rxHead = 0;
                    _rxCount = 0;
                }
                _fcr = (byte)(value & 0xc9);
                return;
            case Lcr:
                _lcr = value;
                return;
            case Mcr:
                _mcr = (byte)(value & 0x1f);
                UpdateModemStatus();
                return;
            case Lsr:
            case Msr:
                return;
            default:
                _scr = value;
                return;
        }
    }

    private void Transmit(byte value)
    {
        if ((_mcr & McrLoop) != 0)
        {
            Receive(value);
            return;
        }
        _tx[_txCount++] = value;
        if (value == (byte)'\n' || _txCount == _tx.Length) FlushLocked();
        else if (_txCount == 1 && _quietFlushTicks != 0 && System.Diagnostics.Stopwatch.GetTimestamp() - _lastFlush >= _quietFlushTicks)
            FlushLocked();
    }

    private bool Receive(byte value)
    {
        if (_rxCount == ReceiveCapacity)
        {
            _overrun = true;
            return false;
        }
        _rx[(_rxHead + _rxCount) % ReceiveCapacity] = value;
        _rxCount++;
        return true;
    }

    private void FlushLocked()
    {
        if (_txCount == 0) return;
        int n = _txCount;
        _txCount = 0;
        _lastFlush = System.Diagnostics.Stopwatch.GetTimestamp();
        Output?.Invoke(new ReadOnlySpan<byte>(_tx, 0, n));
    }

    private byte LineStatus() =>
        (byte)(LsrThre | LsrTemt | (_rxCount > 0 ? LsrDr : 0) | (_overrun ? LsrOe : 0));

    private void UpdateModemStatus()
    {
        byte lines = (_mcr & McrLoop) != 0
            ? (byte)(((_mcr & McrRts) != 0 ? MsrCts : 0) | ((_mcr & McrDtr) != 0 ? MsrDsr : 0)
                     | ((_mcr & McrOut1) != 0 ? MsrRi : 0) | ((_mcr & McrOut2) != 0 ? MsrDcd : 0))
            : (byte)(MsrDcd | MsrDsr | MsrCts);
        byte old = _msr;
        byte delta = (byte)(old & MsrAnyDelta);
        if (((old ^ lines) & MsrCts) != 0) delta |= MsrDcts;
        if (((old ^ lines) & MsrDsr) != 0) delta |= MsrDdsr;
        if ((old & MsrRi) != 0 && (lines & MsrRi) == 0) delta |= MsrTeri;
        if (((old ^ lines) & MsrDcd) != 0) delta |= MsrDdcd;
        _msr = (byte)(lines | delta);
    }

    private byte CurrentInterrupt()
    {
        if ((_ier & IerRlsi) != 0 && _overrun) return IirRlsi;
        if ((_ier & IerRdi) != 0 && _rxCount > 0) return IirRdi;
        if ((_ier & IerThri) != 0 && _thrInterruptPending) return IirThri;
        if ((_ier & IerMsi) != 0 && (_msr & MsrAnyDelta) != 0) return IirMsi;
        return IirNoInt;
    }

    private void UpdateIrq()
    {
        bool level = CurrentInterrupt() != IirNoInt;
        if (level == _irqLevel) return;
        _irqLevel = level;
        _setIrq(level);
    }

    /// <inheritdoc />
    public byte[] SaveState()
    {
        lock (_gate)
        {
            FlushLocked();
            using var ms = new MemoryStream();
            using var w = new BinaryWriter(ms);
            w.Write(StateVersion);
            w.Write([_ier, _fcr, _lcr, _mcr, _msr, _scr, _dll, _dlm]);
            w.Write(_overrun);
            w.Write(_thrInterruptPending);
            w.Write(_rxCount);
            for (int i = 0; i < _rxCount; i++) w.Write(_rx[(_rxHead + i) % ReceiveCapacity]);
            w.Flush();
            return ms.ToArray();
        }
    }

    /// <inheritdoc />
    public void RestoreState(ReadOnlySpan<byte> state)
    {
        const int fixedPart = 1 + 8 + 2 + 4;
        if (state.Length < fixedPart)
            throw new VmmException($"UART state of {state.Length} bytes is truncated", "uart-restore");
        if (state[0] != StateVersion)
            throw new VmmException($"UART state version {state[0]} is not supported (expected {StateVersion})", "uart-restore");
        int count = BitConverter.ToInt32(state[11..15]);
        if (count < 0 || count > ReceiveCapacity || state.Length != fixedPart + count)
            throw new VmmException($"UART state holds {count} FIFO bytes in {state.Length} bytes", "uart-restore");
        lock (_gate)
        {
            _ier = state[1]; _fcr = state[2]; _lcr = state[3]; _mcr = state[4];
            _msr = state[5]; _scr = state[6]; _dll = state[7]; _dlm = state[8];
            _overrun = state[9] != 0;
            _thrInterruptPending = state[10] != 0;
            state.Slice(fixedPart, count).CopyTo(_rx);
            _rxHead = 0;
            _rxCount = count;
            _txCount = 0;
            _irqLevel = !(CurrentInterrupt() != IirNoInt);
            UpdateIrq();
        }
    }
}
