using Cluster.Vmctl.Live;

namespace Cluster.Node.Tests.Vmctl.Live;

public class ScreenTests
{
    [Fact]
    public void Prints_plain_frames_only_when_they_change()
    {
        var output = new StringWriter();
        var screen = new Screen(output, ansi: false, fullScreen: true);
        screen.Draw("a\nb\n");
        screen.Draw("a\nb");
        screen.Draw("c");
        Assert.Equal("a\nb\nc\n", output.ToString());
    }

    [Fact]
    public void Redraws_in_place_by_moving_the_cursor_up_over_the_last_frame()
    {
        var output = new StringWriter();
        var screen = new Screen(output, ansi: true, fullScreen: false);
        screen.Draw("a\nb\nc");
        screen.Draw("d");
        Assert.Equal("\r\u001b[Ja\u001b[K\nb\u001b[K\nc\u001b[K\r\u001b[2A\u001b[Jd\u001b[K", output.ToString());
    }

    [Fact]
    public void Redraws_a_full_screen_view_from_the_top_of_a_cleared_screen()
    {
        var output = new StringWriter();
        new Screen(output, ansi: true, fullScreen: true).Draw("x");
        Assert.Equal("\u001b[H\u001b[2Jx\u001b[K", output.ToString());
    }
}
