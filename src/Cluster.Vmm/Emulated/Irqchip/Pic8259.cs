namespace Cluster.Vmm.Emulated.Irqchip;

/// <summary>
/// One Intel 8259A programmable interrupt controller: ICW1-4, OCW1-3, IRR/ISR/IMR, rotating and
/// specific EOI, auto-EOI, poll mode, special mask, edge or level (ELCR) triggering.
/// Not thread-safe: <see cref="DualPic"/> serialises access.
/// </summary>
internal sealed class Pic8259
{
    public byte Irr, Imr, Isr, Elcr, LastIrr, PriorityAdd, IrqBase, InitState;
    public bool ReadIsr, Poll, SpecialMask, AutoEoi, RotateOnAutoEoi, SpecialFullyNested, Init4, SingleMode;

    public Pic8259(bool master) => IsMaster = master;

    public bool IsMaster { get; }

    public void Reset()
    {
        LastIrr = 0;
        Irr &= Elcr;
        Imr = Isr = PriorityAdd = IrqBase = InitState = 0;
        ReadIsr = Poll = SpecialMask = AutoEoi = RotateOnAutoEoi = SpecialFullyNested = Init4 = SingleMode = false;
    }

    /// <summary>Drives input line <paramref name="irq"/> (0-7): edge-triggered lines latch on a rising edge.</summary>
    public void SetLine(int irq, bool level)
    {
        byte mask = (byte)(1 << irq);
        if ((Elcr & mask) != 0)
        {
            if (level) { Irr |= mask; LastIrr |= mask; }
            else { Irr &= (byte)~mask; LastIrr &= (byte)~mask; }
        }
        else if (level)
        {
            if ((LastIrr & mask) == 0) Irr |= mask;
            LastIrr |= mask;
        }
        else LastIrr &= (byte)~mask;
    }

    private int Priority(byte mask)
    {
        if (mask == 0) return 8;
        int p = 0;
        while ((mask & (1 << ((p + PriorityAdd) & 7))) == 0) p++;
        return p;
    }

    /// <summary>The highest-priority requested, unmasked and not in-service line, or -1.</summary>
    public int PendingIrq()
    {
        byte mask = (byte)(Irr & ~Imr);
        int p = Priority(mask);
        if (p == 8) return -1;
        mask = Isr;
        if (SpecialMask) mask &= (byte)~Imr;
        if (SpecialFullyNested && IsMaster) mask &= unchecked((byte)~(1 << 2));
        int cur = Priority(mask);
        return p < cur ? (p + PriorityAdd) & 7 : -1;
    }

    /// <summary>INTA: moves the line from IRR to ISR (or not, in auto-EOI mode).</summary>
    public void Acknowledge(int irq)
    {
        if (AutoEoi)
        {
            if (RotateOnAutoEoi) PriorityAdd = (byte)((irq + 1) & 7);
        }
        else Isr |= (byte)(1 << irq);
        if ((Elcr & (1 << irq)) == 0) Irr &= (byte)~(1 << irq);
    }

    public void Write(int addr, byte val)
    {
        if (addr == 0)
        {
            if ((val & 0x10) != 0)
            {
                Reset();
                InitState = 1;
                Init4 = (val & 1) != 0;
                SingleMode = (val & 2) != 0;
            }
            else if ((val & 0x08) != 0)
            {
                if ((val & 0x04) != 0) Poll = true;
                if ((val & 0x02) != 0) ReadIsr = (val & 1) != 0;
                if ((val & 0x40) != 0) SpecialMask = ((val >> 5) & 1) != 0;
            }
            else
            {
                int cmd = val >> 5;
                switch (cmd)
                {
                    case 0:
                    case 4:
                        RotateOnAutoEoi = cmd == 4;
                        break;
                    case 1:
                    case 5:
                        {
                            int p = Priority(Isr);
                            if (p != 8)
                            {
                                int irq = (p + PriorityAdd) & 7;
                                Isr &= (byte)~(1 << irq);
                                if (cmd == 5) PriorityAdd = (byte)((irq + 1) & 7);
                            }
                            break;
                        }
                    case 3:
                        Isr &= (byte)~(1 << (val & 7));
                        break;
                    case 6:
                        PriorityAdd = (byte)((val + 1) & 7);
                        break;
                    case 7:
                        Isr &= (byte)~(1 << (val & 7));
                        PriorityAdd = (byte)(((val & 7) + 1) & 7);
                        break;
                }
            }
            return;
        }
        switch (InitState)
        {
            case 0:
                Imr = val;
                break;
            case 1:
                IrqBase = (byte)(val & 0xF8);
                InitState = SingleMode ? (Init4 ? (byte)3 : (byte)0) : (byte)2;
                break;
            case 2:
                InitState = Init4 ? (byte)3 : (byte)0;
                break;
            default:
                SpecialFullyNested = ((val >> 4) & 1) != 0;
                AutoEoi = ((val >> 1) & 1) != 0;
                InitState = 0;
                break;
        }
    }

    public byte Read(int addr)
    {
        if (Poll)
        {
            Poll = false;
            int irq = PendingIrq();
            if (irq < 0) return 0;
            Acknowledge(irq);
            return (byte)(irq | 0x80);
        }
        return addr == 0 ? (ReadIsr ? Isr : Irr) : Imr;
    }

    public void Save(BinaryWriter w)
    {
        w.Write(Irr); w.Write(Imr); w.Write(Isr); w.Write(Elcr); w.Write(LastIrr); w.Write(PriorityAdd); w.Write(IrqBase); w.Write(InitState);
        w.Write(ReadIsr); w.Write(Poll); w.Write(SpecialMask); w.Write(AutoEoi); w.Write(RotateOnAutoEoi); w.Write(SpecialFullyNested); w.Write(Init4); w.Write(SingleMode);
    }

    public void Load(BinaryReader r)
    {
        Irr = r.ReadByte(); Imr = r.ReadByte(); Isr = r.ReadByte(); Elcr = r.ReadByte(); LastIrr = r.ReadByte(); PriorityAdd = r.ReadByte(); IrqBase = r.ReadByte(); InitState = r.ReadByte();
        ReadIsr = r.ReadBoolean(); Poll = r.ReadBoolean(); SpecialMask = r.ReadBoolean(); AutoEoi = r.ReadBoolean(); RotateOnAutoEoi = r.ReadBoolean(); SpecialFullyNested = r.ReadBoolean(); Init4 = r.ReadBoolean(); SingleMode = r.ReadBoolean();
    }
}
