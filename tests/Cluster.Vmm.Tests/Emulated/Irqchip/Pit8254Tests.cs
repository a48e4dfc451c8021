using Cluster.Vmm.Emulated.Irqchip;
using Xunit;

namespace Cluster.Vmm.Tests.Emulated.Irqchip;

/// <summary>The 8254 timer: programming, count reads and latches, and IRQ 0 in real time.</summary>
public sealed class Pit8254Tests
{
    [Fact]
    public void Latched_count_reads_lobyte_then_hibyte_and_counts_down()
    {
        var pit = new Pit8254((_, _) => { });
        pit.Write(0x43, 0x34);
        pit.Write(0x40, 0xFF);
        pit.Write(0x40, 0xFF);
        Thread.Sleep(5);
        pit.Write(0x43, 0x00);
        int lo = pit.Read(0x40), hi = pit.Read(0x40);
        int count = lo | (hi << 8);
        // At least 5 ms (about 5,966 ticks) went by; a periodic count never reads back as its reload value then.
        Assert.NotEqual(0xFFFF, count);
        Assert.InRange(count, 1, 0xFFFF);
    }

    [Fact]
    public void Read_back_status_reports_mode_and_access()
    {
        var pit = new Pit8254((_, _) => { });
        pit.Write(0x43, 0xB6);
        pit.Write(0x43, 0xE8);
        Assert.Equal(0x36, pit.Read(0x42) & 0x3F);
    }

    [Fact]
    public void Mode_2_raises_irq0_periodically_and_mode_0_once()
    {
        int edges = 0;
        var pit = new Pit8254((irq, level) => { if (irq == 0 && level) Interlocked.Increment(ref edges); });
        pit.Write(0x43, 0x34);
        pit.Write(0x40, 0xA9);
        pit.Write(0x40, 0x04);
        for (int i = 0; i < 200 && edges < 3; i++)
        {
            Thread.Sleep(2);
            pit.Poll();
        }
        Assert.True(edges >= 3);

        edges = 0;
        pit.Write(0x43, 0x30);
        pit.Write(0x40, 0x10);
        pit.Write(0x40, 0x00);
        for (int i = 0; i < 20; i++)
        {
            Thread.Sleep(1);
            pit.Poll();
        }
        Assert.Equal(1, edges);
    }

    [Fact]
    public void Speaker_port_reflects_the_channel_2_gate()
    {
        var pit = new Pit8254((_, _) => { });
        pit.Write(0x61, 0x03);
        Assert.Equal(0x03, pit.Read(0x61) & 0x03);
        pit.Write(0x61, 0x00);
        Assert.Equal(0x00, pit.Read(0x61) & 0x03);
    }
}
