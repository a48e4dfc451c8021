using Cluster.Vmm.Emulated.Irqchip;
using Xunit;

namespace Cluster.Vmm.Tests.Emulated.Irqchip;

/// <summary>The 8259A pair programmed as a PC BIOS does.</summary>
public sealed class DualPicTests
{
    private static DualPic Programmed(byte masterMask = 0, byte slaveMask = 0, bool autoEoi = false)
    {
        var pic = new DualPic();
        pic.Write(0x20, 0x11);
        pic.Write(0x21, 0x20);
        pic.Write(0x21, 0x04);
        pic.Write(0x21, (byte)(autoEoi ? 0x03 : 0x01));
        pic.Write(0xA0, 0x11);
        pic.Write(0xA1, 0x28);
        pic.Write(0xA1, 0x02);
        pic.Write(0xA1, 0x01);
        pic.Write(0x21, masterMask);
        pic.Write(0xA1, slaveMask);
        return pic;
    }

    [Fact]
    public void Edge_triggered_line_is_delivered_once_at_the_programmed_base()
    {
        var pic = Programmed();
        Assert.False(pic.Output);
        pic.SetIrq(1, true);
        Assert.True(pic.Output);
        Assert.Equal(0x21, pic.Acknowledge());
        Assert.False(pic.Output);
        pic.SetIrq(1, true);
        Assert.False(pic.Output);
    }

    [Fact]
    public void Higher_priority_lines_preempt_and_eoi_releases_lower_ones()
    {
        var pic = Programmed();
        pic.SetIrq(4, true);
        Assert.Equal(0x24, pic.Acknowledge());
        pic.SetIrq(3, true);
        pic.SetIrq(5, true);
        Assert.True(pic.Output);
        Assert.Equal(0x23, pic.Acknowledge());
        Assert.False(pic.Output);
        pic.Write(0x20, 0x20);
        Assert.False(pic.Output);
        pic.Write(0x20, 0x64);
        Assert.True(pic.Output);
        Assert.Equal(0x25, pic.Acknowledge());
    }

    [Fact]
    public void Masked_lines_wait_in_irr_and_slave_lines_cascade_through_irq2()
    {
        var pic = Programmed(masterMask: 0x01);
        pic.SetIrq(0, true);
        Assert.False(pic.Output);
        pic.Write(0x20, 0x0A);
        Assert.Equal(0x01, pic.Read(0x20));
        pic.SetIrq(12, true);
        Assert.True(pic.Output);
        Assert.Equal(0x2C, pic.Acknowledge());
        pic.Write(0xA0, 0x0B);
        Assert.Equal(0x10, pic.Read(0xA0));
        pic.Write(0x21, 0x00);
        Assert.True(pic.Output);
        Assert.Equal(0x20, pic.Acknowledge());
        pic.Write(0x20, 0x20);
        pic.Write(0xA0, 0x20);
        pic.Write(0x20, 0x20);
        Assert.False(pic.Output);
    }

    [Fact]
    public void Level_triggered_lines_request_again_after_eoi_while_high()
    {
        var pic = Programmed();
        pic.Write(0x4D0, 0x20);
        pic.SetIrq(5, true);
        Assert.Equal(0x25, pic.Acknowledge());
        Assert.False(pic.Output);
        pic.Write(0x20, 0x20);
        Assert.True(pic.Output);
        Assert.Equal(0x25, pic.Acknowledge());
        pic.Write(0x20, 0x20);
        pic.SetIrq(5, false);
        Assert.False(pic.Output);
    }

    [Fact]
    public void A_request_that_went_away_acknowledges_as_spurious_irq7()
    {
        var pic = Programmed();
        Assert.Equal(0x27, pic.Acknowledge());
    }

    [Fact]
    public void Auto_eoi_mode_leaves_no_line_in_service()
    {
        var pic = Programmed(autoEoi: true);
        pic.SetIrq(1, true);
        Assert.Equal(0x21, pic.Acknowledge());
        pic.Write(0x20, 0x0B);
        Assert.Equal(0, pic.Read(0x20));
        pic.SetIrq(6, true);
        Assert.True(pic.Output);
    }

    [Fact]
    public void State_round_trips_through_save_and_load()
    {
        var pic = Programmed(masterMask: 0xF0);
        pic.SetIrq(2 + 8, true);
        pic.SetIrq(6, true);
        var copy = new DualPic();
        copy.Load(pic.Save());
        Assert.Equal(pic.Read(0x21), copy.Read(0x21));
        Assert.Equal(pic.Acknowledge(), copy.Acknowledge());
    }
}
