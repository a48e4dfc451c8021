using System.Buffers.Binary;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Devices.Pci;

/// <summary>
/// MSI-X for one function: the capability in its configuration space (table size, function mask and
/// enable in the message control word) and the vector table and pending-bit array that live in one
/// of its BARs. <see cref="Signal"/> delivers a vector's message through <see cref="IVm.SignalMsi"/>,
/// or marks it pending while the vector or the function is masked and delivers it on unmask.
/// </summary>
public sealed class MsixTable
{
    /// <summary>The capability id of MSI-X.</summary>
    public const byte CapabilityId = 0x11;

    private const ushort ControlEnable = 0x8000, ControlFunctionMask = 0x4000;
    private const int EntrySize = 16;

    private readonly object _gate = new();
    private readonly IVm _vm;
    private readonly PciConfigSpace _config;
    private readonly int _capability;
    private readonly byte[] _table;
    private readonly ulong[] _pending;
    private long _delivered;

    /// <summary>Adds the capability for <paramref name="vectors"/> vectors whose table sits at
    /// <paramref name="tableOffset"/> and pending bits at <paramref name="pbaOffset"/> of BAR <paramref name="bar"/>.</summary>
    public MsixTable(IVm vm, PciConfigSpace config, int vectors, int bar, uint tableOffset, uint pbaOffset)
    {
        if (vectors is < 1 or > 2048) throw new VmmException($"MSI-X with {vectors} vectors", "msix");
        _vm = vm;
        _config = config;
        Vectors = vectors;
        _table = new byte[vectors * EntrySize];
        for (int v = 0; v < vectors; v++) _table[v * EntrySize + 12] = 1; // every vector starts masked
        _pending = new ulong[(vectors + 63) / 64];
        Span<byte> cap = stackalloc byte[12];
        cap[0] = CapabilityId;
        BinaryPrimitives.WriteUInt16LittleEndian(cap[2..], (ushort)(vectors - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(cap[4..], tableOffset | (uint)bar);
        BinaryPrimitives.WriteUInt32LittleEndian(cap[8..], pbaOffset | (uint)bar);
        Span<byte> mask = stackalloc byte[12];
        mask[3] = 0xc0; // enable and function mask
        _capability = config.AddCapability(cap, mask);
        config.Written += (offset, size) =>
        {
            if (offset <= _capability + 3 && offset + size > _capability + 2) DeliverUnmasked();
        };
    }

    /// <summary>The number of vectors.</summary>
    public int Vectors { get; }

    /// <summary>Messages delivered so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>The guest enabled MSI-X (INTx is then not used).</summary>
    public bool Enabled => (Control & ControlEnable) != 0;

    private ushort Control
    {
        get
        {
            Span<byte> b = stackalloc byte[2];
            _config.ReadBytes(_capability + 2, b);
            return BinaryPrimitives.ReadUInt16LittleEndian(b);
        }
    }

    /// <summary>Raises <paramref name="vector"/>: delivered now, or pending while masked. Out-of-range vectors are dropped.</summary>
    public void Signal(int vector)
    {
        if (vector < 0 || vector >= Vectors) return;
        ulong address;
        uint data;
        lock (_gate)
        {
            if ((Control & ControlFunctionMask) != 0 || IsMasked(vector))
            {
                _pending[vector / 64] |= 1UL << (vector % 64);
                return;
            }
            (address, data) = Message(vector);
        }
        Deliver(address, data);
    }

    /// <summary>A read inside the table (at <paramref name="offset"/> from its start) or the PBA.</summary>
    public ulong ReadTable(ulong offset, int size)
    {
        lock (_gate)
        {
            if (offset + (ulong)size > (ulong)_table.Length) return IoBus.AllOnes(size);
            ulong v = 0;
            for (int i = 0; i < size; i++) v |= (ulong)_table[(int)offset + i] << (8 * i);
            return v;
        }
    }

    /// <summary>A read inside the pending-bit array.</summary>
    public ulong ReadPba(ulong offset, int size)
    {
        lock (_gate)
        {
            ulong v = 0;
            for (int i = 0; i < size; i++)
            {
                ulong byteIndex = offset + (ulong)i;
                if (byteIndex / 8 >= (ulong)_pending.Length) break;
                v |= ((_pending[byteIndex / 8] >> (int)(8 * (byteIndex % 8))) & 0xff) << (8 * i);
            }
            return v;
        }
    }

    /// <summary>A write inside the table; unmasking a pending vector delivers it.</summary>
    public void WriteTable(ulong offset, int size, ulong value)
    {
        lock (_gate)
        {
            if (offset + (ulong)size > (ulong)_table.Length) return;
            for (int i = 0; i < size; i++) _table[(int)offset + i] = (byte)(value >> (8 * i));
        }
        DeliverUnmasked();
    }

    /// <summary>The table and pending bits (the capability's control word lives in the config space).</summary>
    public byte[] SaveState()
    {
        lock (_gate)
        {
            var blob = new byte[_table.Length + _pending.Length * 8];
            _table.CopyTo(blob, 0);
            for (int i = 0; i < _pending.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(blob.AsSpan(_table.Length + 8 * i), _pending[i]);
            return blob;
        }
    }

    /// <summary>Loads what <see cref="SaveState"/> captured.</summary>
    public void RestoreState(ReadOnlySpan<byte> blob)
    {
        if (blob.Length != _table.Length + _pending.Length * 8)
            throw new VmmException($"MSI-X state of {blob.Length} bytes does not fit {Vectors} vectors", "msix-restore");
        lock (_gate)
        {
            blob[.._table.Length].CopyTo(_table);
            for (int i = 0; i < _pending.Length; i++) _pending[i] = BinaryPrimitives.ReadUInt64LittleEndian(blob[(_table.Length + 8 * i)..]);
        }
    }

    private bool IsMasked(int vector) => (_table[vector * EntrySize + 12] & 1) != 0;

    private (ulong, uint) Message(int vector)
    {
        var e = _table.AsSpan(vector * EntrySize);
        return (BinaryPrimitives.ReadUInt64LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[8..]));
    }

    private void DeliverUnmasked()
    {
        var due = new List<(ulong, uint)>();
        lock (_gate)
        {
            if ((Control & ControlFunctionMask) != 0 || !Enabled) return;
            for (int v = 0; v < Vectors; v++)
            {
                ulong bit = 1UL << (v % 64);
                if ((_pending[v / 64] & bit) == 0 || IsMasked(v)) continue;
                _pending[v / 64] &= ~bit;
                due.Add(Message(v));
            }
        }
        foreach (var (address, data) in due) Deliver(address, data);
    }

    private void Deliver(ulong address, uint data)
    {
        // A message outside the interrupt window (a guest that never programmed the entry) goes nowhere.
        if ((address & 0xfff0_0000) != 0xfee0_0000) return;
        _vm.SignalMsi(address, data);
        Interlocked.Increment(ref _delivered);
    }
}
