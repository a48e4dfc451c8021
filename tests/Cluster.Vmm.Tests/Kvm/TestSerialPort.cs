using System.Text;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>
/// A minimal 16550 UART at 0x3f8 for the Linux boot test, until the shared platform devices are available:
/// registers that read back what was written (as the 8250 driver's probe needs), a transmitter that is always
/// empty, and the THRE interrupt on IRQ 4 so that the tty layer's interrupt-driven output goes on.
/// </summary>
internal sealed class TestSerialPort(IVm vm)
{
    public const ushort Base = 0x3f8;
    private const int Irq = 4;
    private readonly byte[] _regs = new byte[8];
    private readonly StringBuilder _output = new();
    private byte _divisorLow, _divisorHigh;
    private bool _fifo, _threPending;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static bool Handles(ushort port) => port is >= Base and < Base + 8;

    private bool Dlab => (_regs[3] & 0x80) != 0;

    public void Write(ushort port, byte value)
    {
        int reg = port - Base;
        switch (reg)
        {
            case 0 when Dlab: _divisorLow = value; return;
            case 1 when Dlab: _divisorHigh = value; return;
            case 0:
                lock (_output) _output.Append((char)value);
                _threPending = true;
                break;
            case 1:
                if ((value & 0x02) != 0 && (_regs[1] & 0x02) == 0) _threPending = true;
                _regs[1] = (byte)(value & 0x0f);
                break;
            case 2:
                _fifo = (value & 0x01) != 0;
                return;
            default:
                _regs[reg] = value;
                return;
        }
        UpdateIrq();
    }

    public byte Read(ushort port)
    {
        int reg = port - Base;
        switch (reg)
        {
            case 0 when Dlab: return _divisorLow;
            case 1 when Dlab: return _divisorHigh;
            case 0: return 0;
            case 2:
                byte fifoBits = _fifo ? (byte)0xc0 : (byte)0;
                if ((_regs[1] & 0x02) != 0 && _threPending)
                {
                    _threPending = false;
                    UpdateIrq();
                    return (byte)(fifoBits | 0x02);
                }
                return (byte)(fifoBits | 0x01);
            case 5: return 0x60; // transmitter holding register and shift register empty
            case 6: return 0xb0; // DCD, DSR, CTS
            default: return _regs[reg];
        }
    }

    private void UpdateIrq() => vm.SetIrqLine(Irq, (_regs[1] & 0x02) != 0 && _threPending);
}
