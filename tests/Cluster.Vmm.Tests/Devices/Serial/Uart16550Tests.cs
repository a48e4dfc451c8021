using Xunit;
using System.Text;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Devices.Serial;

namespace Cluster.Vmm.Tests.Devices.Serial;

public class Uart16550Tests
{
    private const ushort Data = 0, Ier = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    private readonly List<bool> _irq = [];
    private readonly List<byte> _output = [];
    private readonly List<int> _batches = [];
    private readonly Uart16550 _uart;

    public Uart16550Tests()
    {
        _uart = new Uart16550(_irq.Add);
        _uart.Output += bytes =>
        {
            _output.AddRange(bytes.ToArray());
            _batches.Add(bytes.Length);
        };
    }

    private byte Read(ushort offset) => (byte)_uart.Read(offset, 1);
    private void Write(ushort offset, byte value) => _uart.Write(offset, 1, value);
    private void Send(string text) { foreach (var c in Encoding.ASCII.GetBytes(text)) Write(Data, c); }

    [Fact]
    public void Dlab_switches_data_and_ier_to_the_divisor_latch()
    {
        Write(Lcr, 0x83);
        Write(Data, 0x01);
        Write(Ier, 0x02);
        Assert.Equal(0x01, Read(Data));
        Assert.Equal(0x02, Read(Ier));
        Assert.Equal((ushort)0x0201, _uart.Divisor);
        Write(Lcr, 0x03);
        Assert.Equal(0x00, Read(Ier));
        Assert.Equal(0x03, Read(Lcr));
        Assert.Empty(_output);
    }

    [Fact]
    public void Lsr_reports_an_empty_transmitter_and_data_ready_while_the_fifo_holds_bytes()
    {
        Assert.Equal(0x60, Read(Lsr));
        _uart.Input("ab"u8);
        Assert.Equal(0x61, Read(Lsr));
        Assert.Equal((byte)'a', Read(Data));
        Assert.Equal((byte)'b', Read(Data));
        Assert.Equal(0x60, Read(Lsr));
    }

    [Fact]
    public void Receive_fifo_keeps_order_and_sets_overrun_when_full()
    {
        var input = Enumerable.Range(0, Uart16550.ReceiveCapacity + 10).Select(i => (byte)i).ToArray();
        Assert.Equal(Uart16550.ReceiveCapacity, _uart.Input(input));
        Assert.Equal(0x63, Read(Lsr));
        Assert.Equal(0x61, Read(Lsr));
        for (int i = 0; i < Uart16550.ReceiveCapacity; i++) Assert.Equal((byte)i, Read(Data));
        Assert.Equal(0x60, Read(Lsr));
    }

    [Fact]
    public void Fcr_clears_the_receive_fifo_and_iir_shows_fifos_enabled()
    {
        _uart.Input("xyz"u8);
        Write(Fcr, 0x07);
        Assert.Equal(0, _uart.PendingInput);
        Assert.Equal(0xc1, Read(Iir));
    }

    [Fact]
    public void Output_is_batched_until_a_newline_or_a_flush()
    {
        Send("hello");
        Assert.Empty(_output);
        Send(" world\n");
        Assert.Equal("hello world\n", Encoding.ASCII.GetString(_output.ToArray()));
        Assert.Equal([12], _batches);
        Send("tail");
        _uart.Flush();
        Assert.Equal([12, 4], _batches);
    }

    [Fact]
    public void With_a_quiet_flush_the_first_byte_of_a_burst_goes_out_at_once()
    {
        _uart.QuietFlush = TimeSpan.FromMilliseconds(50);
        Send("login: ");
        Assert.Equal([1], _batches);
        _uart.Flush();
        Assert.Equal([1, 6], _batches);
        Send("x");
        Assert.Equal([1, 6], _batches);
        _uart.Flush();
        Thread.Sleep(60);
        Send("yz");
        Assert.Equal([1, 6, 1, 1], _batches);
        _uart.Flush();
        Assert.Equal([1, 6, 1, 1, 1], _batches);
        Assert.Equal("login: xyz", Encoding.ASCII.GetString(_output.ToArray()));
    }

    [Fact]
    public void Polling_lsr_between_bytes_does_not_break_the_batch()
    {
        foreach (var c in "polled\n"u8.ToArray())
        {
            Assert.Equal(0x20, Read(Lsr) & 0x20);
            Write(Data, c);
        }
        Assert.Equal([7], _batches);
    }

    [Fact]
    public void Loopback_returns_transmitted_bytes_as_input_and_mirrors_modem_lines()
    {
        Write(Mcr, 0x10 | 0x01 | 0x02);
        Send("Q");
        Assert.Empty(_output);
        Assert.Equal((byte)'Q', Read(Data));
        byte msr = Read(Msr);
        Assert.Equal(0x30, msr & 0xf0);
        Write(Mcr, 0x10 | 0x04 | 0x08);
        Assert.Equal(0xc0, Read(Msr) & 0xf0);
        Write(Mcr, 0x08);
        Send("!");
        _uart.Flush();
        Assert.Equal("!", Encoding.ASCII.GetString(_output.ToArray()));
    }

    [Fact]
    public void Scratch_register_holds_its_value()
    {
        Write(Scr, 0xa5);
        Assert.Equal(0xa5, Read(Scr));
    }

    [Fact]
    public void Raises_irq_for_received_data_when_enabled_and_lowers_it_when_drained()
    {
        _uart.Input("k"u8);
        Assert.Empty(_irq);
        Write(Ier, 0x01);
        Assert.Equal([true], _irq);
        Assert.Equal(0x04, Read(Iir) & 0x0f);
        Read(Data);
        Assert.Equal([true, false], _irq);
        Assert.Equal(0x01, Read(Iir) & 0x0f);
    }

    [Fact]
    public void Raises_thre_irq_when_enabled_and_clears_it_when_iir_is_read()
    {
        Write(Ier, 0x02);
        Assert.Equal([true], _irq);
        Assert.Equal(0x02, Read(Iir) & 0x0f);
        Assert.Equal([true, false], _irq);
        Write(Data, (byte)'z');
        Assert.Equal([true, false, true], _irq);
        Write(Ier, 0x00);
        Assert.Equal([true, false, true, false], _irq);
    }

    [Fact]
    public void Received_data_takes_priority_over_thre_in_iir()
    {
        Write(Ier, 0x03);
        _uart.Input("a"u8);
        Assert.Equal(0x04, Read(Iir) & 0x0f);
        Read(Data);
        Assert.Equal(0x02, Read(Iir) & 0x0f);
    }

    [Fact]
    public void State_round_trips_registers_and_fifo_into_a_new_uart()
    {
        Write(Lcr, 0x80);
        Write(Data, 0x03);
        Write(Lcr, 0x03);
        Write(Ier, 0x01);
        Write(Scr, 0x77);
        _uart.Input("rest"u8);

        var irq = new List<bool>();
        var copy = new Uart16550(irq.Add);
        copy.RestoreState(_uart.SaveState());

        Assert.Equal((ushort)3, copy.Divisor);
        Assert.Equal(0x77, (byte)copy.Read(Scr, 1));
        Assert.Equal(0x01, (byte)copy.Read(Ier, 1));
        Assert.True(copy.IrqLevel);
        Assert.Equal([true], irq);
        Assert.Equal("rest", string.Concat(Enumerable.Range(0, 4).Select(_ => (char)copy.Read(Data, 1))));
    }

    [Fact]
    public void Refuses_malformed_state()
    {
        Assert.Throws<VmmException>(() => _uart.RestoreState([1, 2, 3]));
        var state = _uart.SaveState();
        state[0] = 99;
        Assert.Contains("version", Assert.Throws<VmmException>(() => _uart.RestoreState(state)).Message);
    }
}
