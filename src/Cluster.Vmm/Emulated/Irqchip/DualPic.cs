namespace Cluster.Vmm.Emulated.Irqchip;

/// <summary>
/// The PC's cascaded 8259A pair (master at 0x20/0x21, slave at 0xA0/0xA1 on master line 2, ELCR at
/// 0x4D0/0x4D1), the emulated counterpart of KVM_CREATE_IRQCHIP's PIC. Thread-safe.
/// </summary>
internal sealed class DualPic
{
    private readonly object _gate = new();
    private readonly Pic8259 _master = new(master: true), _slave = new(master: false);
    private volatile bool _output;

    /// <summary>Raised whenever the INT output may have changed (wakes halted vCPUs).</summary>
    public event Action? OutputChanged;

    /// <summary>The INT output to the CPU: an interrupt is ready to be acknowledged.</summary>
    public bool Output => _output;

    public static bool Handles(ushort port) => port is 0x20 or 0x21 or 0xA0 or 0xA1 or 0x4D0 or 0x4D1;

    public void SetIrq(int irq, bool level)
    {
        lock (_gate)
        {
            if (irq < 8) _master.SetLine(irq, level);
            else _slave.SetLine(irq - 8, level);
            Update();
        }
    }

    /// <summary>INTA cycle: the vector to deliver (spurious 7 or 15 when the request went away).</summary>
    public int Acknowledge()
    {
        lock (_gate)
        {
            int vector;
            int irq = _master.PendingIrq();
            if (irq >= 0)
            {
                _master.Acknowledge(irq);
                if (irq == 2)
                {
                    int irq2 = _slave.PendingIrq();
                    if (irq2 >= 0) _slave.Acknowledge(irq2);
                    else irq2 = 7;
                    vector = _slave.IrqBase + irq2;
                }
                else vector = _master.IrqBase + irq;
            }
            else vector = _master.IrqBase + 7;
            Update();
            return vector;
        }
    }

    public byte Read(ushort port)
    {
        lock (_gate)
        {
            byte v = port switch
            {
                0x20 or 0x21 => _master.Read(port & 1),
                0xA0 or 0xA1 => _slave.Read(port & 1),
                0x4D0 => _master.Elcr,
                _ => _slave.Elcr,
            };
            Update();
            return v;
        }
    }

    public void Write(ushort port, byte v)
    {
        lock (_gate)
        {
            switch (port)
            {
                case 0x20: case 0x21: _master.Write(port & 1, v); break;
                case 0xA0: case 0xA1: _slave.Write(port & 1, v); break;
                case 0x4D0: _master.Elcr = (byte)(v & 0xF8); break;
                default: _slave.Elcr = (byte)(v & 0xDE); break;
            }
            Update();
        }
    }

    private void Update()
    {
        _master.SetLine(2, _slave.PendingIrq() >= 0);
        bool outp = _master.PendingIrq() >= 0;
        _output = outp;
        if (outp) OutputChanged?.Invoke();
    }

    public byte[] Save()
    {
        lock (_gate)
        {
            var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms))
            {
                _master.Save(w);
                _slave.Save(w);
            }
            return ms.ToArray();
        }
    }

    public void Load(byte[] blob)
    {
        lock (_gate)
        {
            using var r = new BinaryReader(new MemoryStream(blob));
            _master.Load(r);
            _slave.Load(r);
            Update();
        }
    }
}
