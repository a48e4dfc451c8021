using System.Diagnostics;

namespace Cluster.Vmm.Emulated.Irqchip;

/// <summary>
/// The Intel 8254 programmable interval timer (ports 0x40-0x43, gate/speaker at 0x61) counting at
/// 1.193182 MHz in host real time, the emulated counterpart of KVM_CREATE_PIT2. Channel 0 raises
/// IRQ 0 (modes 0, 2 and 3; 1, 4 and 5 count but only mode 0 style one-shots interrupt). Thread-safe.
/// </summary>
internal sealed class Pit8254
{
    public const long Hz = 1_193_182;

    private sealed class Channel
    {
        public int Count = 0x10000;
        public ushort LatchedCount;
        public int CountLatched;
        public bool StatusLatched;
        public byte Status;
        public int ReadState, WriteState;
        public byte WriteLatch;
        public int RwMode, Mode;
        public bool Bcd, Gate;
        /// <summary>Host ticks (PIT clock) when the count was loaded.</summary>
        public long LoadTime;
        /// <summary>The next PIT tick at which channel 0 raises IRQ 0, or -1.</summary>
        public long NextIrq = -1;
    }

    private readonly object _gate = new();
    private readonly Channel[] _ch = [new(), new(), new()];
    private readonly Action<int, bool> _setIrq;
    private readonly long _epoch = Stopwatch.GetTimestamp();
    private bool _speakerData, _refresh;

    public Pit8254(Action<int, bool> setIrq)
    {
        _setIrq = setIrq;
        _ch[0].Gate = true;
        _ch[1].Gate = true;
    }

    public static bool Handles(ushort port) => port is >= 0x40 and <= 0x43 or 0x61;

    /// <summary>The PIT clock now, in 1.193182 MHz ticks since this timer was created.</summary>
    public long Now => (long)((Int128)(Stopwatch.GetTimestamp() - _epoch) * Hz / Stopwatch.Frequency);

    /// <summary>Host time until the next IRQ 0, for a halted vCPU to sleep; null when none is due.</summary>
    public TimeSpan? TimeToNextIrq()
    {
        lock (_gate)
        {
            long next = _ch[0].NextIrq;
            if (next < 0) return null;
            long d = next - Now;
            return d <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(d * TimeSpan.TicksPerSecond / Hz);
        }
    }

    /// <summary>Raises IRQ 0 if its time has come (missed periods coalesce into one interrupt).</summary>
    public void Poll()
    {
        bool fire = false;
        lock (_gate)
        {
            var c = _ch[0];
            if (c.NextIrq < 0) return;
            long now = Now;
            if (now < c.NextIrq) return;
            fire = true;
            if (c.Mode is 2 or 3)
            {
                long periods = (now - c.LoadTime) / c.Count + 1;
                c.NextIrq = c.LoadTime + periods * c.Count;
            }
            else c.NextIrq = -1;
        }
        if (fire)
        {
            _setIrq(0, true);
            _setIrq(0, false);
        }
    }

    private int CurrentCount(Channel c, long now)
    {
        long d = now - c.LoadTime;
        return c.Mode switch
        {
            0 or 1 or 4 or 5 => (int)((c.Count - d) & 0xFFFF),
            3 => (int)(c.Count - ((2 * d) % c.Count)),
            _ => (int)(c.Count - (d % c.Count)),
        };
    }

    private bool Out(Channel c, long now)
    {
        long d = now - c.LoadTime;
        return c.Mode switch
        {
            0 => d >= c.Count,
            1 => d < c.Count,
            2 => (d % c.Count) != 0 || d == 0,
            3 => (d % c.Count) < ((c.Count + 1) >> 1),
            _ => d == c.Count,
        };
    }

    private void Load(int idx, int val)
    {
        var c = _ch[idx];
        if (val == 0) val = 0x10000;
        c.Count = val;
        c.LoadTime = Now;
        if (idx == 0) c.NextIrq = c.LoadTime + val;
    }

    public byte Read(ushort port)
    {
        lock (_gate)
        {
            if (port == 0x61)
            {
                _refresh = !_refresh;
                return (byte)((_ch[2].Gate ? 1 : 0) | (_speakerData ? 2 : 0) | (_refresh ? 0x10 : 0) | (Out(_ch[2], Now) ? 0x20 : 0));
            }
            if (port == 0x43) return 0xFF;
            var c = _ch[port - 0x40];
            if (c.StatusLatched)
            {
                c.StatusLatched = false;
                return c.Status;
            }
            int ret;
            if (c.CountLatched != 0)
            {
                switch (c.CountLatched)
                {
                    case 1: ret = c.LatchedCount & 0xFF; c.CountLatched = 0; break;
                    case 2: ret = c.LatchedCount >> 8; c.CountLatched = 0; break;
                    default: ret = c.LatchedCount & 0xFF; c.CountLatched = 2; break;
                }
                return (byte)ret;
            }
            int count = CurrentCount(c, Now);
            switch (c.ReadState)
            {
                case 1: ret = count & 0xFF; break;
                case 2: ret = (count >> 8) & 0xFF; break;
                case 3: ret = count & 0xFF; c.ReadState = 4; break;
                default: ret = (count >> 8) & 0xFF; c.ReadState = 3; break;
            }
            return (byte)ret;
        }
    }

    public void Write(ushort port, byte val)
    {
        lock (_gate)
        {
            if (port == 0x61)
            {
                _ch[2].Gate = (val & 1) != 0;
                _speakerData = (val & 2) != 0;
                return;
            }
            if (port == 0x43)
            {
                int idx = val >> 6;
                if (idx == 3)
                {
                    for (int i = 0; i < 3; i++)
                    {
                        if ((val & (2 << i)) == 0) continue;
                        var rc = _ch[i];
                        if ((val & 0x20) == 0) Latch(rc);
                        if ((val & 0x10) == 0 && !rc.StatusLatched)
                        {
                            rc.Status = (byte)((Out(rc, Now) ? 0x80 : 0) | (rc.RwMode << 4) | (rc.Mode << 1) | (rc.Bcd ? 1 : 0));
                            rc.StatusLatched = true;
                        }
                    }
                    return;
                }
                var c = _ch[idx];
                int access = (val >> 4) & 3;
                if (access == 0)
                {
                    Latch(c);
                    return;
                }
                c.RwMode = access;
                c.ReadState = c.WriteState = access;
                c.Mode = (val >> 1) & 7;
                if (c.Mode > 5) c.Mode -= 4;
                c.Bcd = (val & 1) != 0;
                if (idx == 0) c.NextIrq = -1;
                return;
            }
            var ch = _ch[port - 0x40];
            switch (ch.WriteState)
            {
                case 1: Load(port - 0x40, val); break;
                case 2: Load(port - 0x40, val << 8); break;
                case 3: ch.WriteLatch = val; ch.WriteState = 4; break;
                default: Load(port - 0x40, ch.WriteLatch | (val << 8)); ch.WriteState = 3; break;
            }
        }
    }

    private void Latch(Channel c)
    {
        if (c.CountLatched != 0) return;
        c.LatchedCount = (ushort)CurrentCount(c, Now);
        c.CountLatched = c.RwMode;
    }

    /// <summary>State with times stored relative to now, so a restore elsewhere continues the same phase.</summary>
    public byte[] Save()
    {
        lock (_gate)
        {
            long now = Now;
            var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms))
            {
                foreach (var c in _ch)
                {
                    w.Write(c.Count); w.Write(c.LatchedCount); w.Write(c.CountLatched); w.Write(c.StatusLatched); w.Write(c.Status);
                    w.Write(c.ReadState); w.Write(c.WriteState); w.Write(c.WriteLatch); w.Write(c.RwMode); w.Write(c.Mode); w.Write(c.Bcd); w.Write(c.Gate);
                    w.Write(now - c.LoadTime);
                    w.Write(c.NextIrq < 0 ? long.MinValue : c.NextIrq - now);
                }
                w.Write(_speakerData);
            }
            return ms.ToArray();
        }
    }

    public void Load(byte[] blob)
    {
        lock (_gate)
        {
            long now = Now;
            using var r = new BinaryReader(new MemoryStream(blob));
            foreach (var c in _ch)
            {
                c.Count = r.ReadInt32(); c.LatchedCount = r.ReadUInt16(); c.CountLatched = r.ReadInt32(); c.StatusLatched = r.ReadBoolean(); c.Status = r.ReadByte();
                c.ReadState = r.ReadInt32(); c.WriteState = r.ReadInt32(); c.WriteLatch = r.ReadByte(); c.RwMode = r.ReadInt32(); c.Mode = r.ReadInt32(); c.Bcd = r.ReadBoolean(); c.Gate = r.ReadBoolean();
                c.LoadTime = now - r.ReadInt64();
                long next = r.ReadInt64();
                c.NextIrq = next == long.MinValue ? -1 : now + next;
            }
            _speakerData = r.ReadBoolean();
        }
    }
}
