namespace Cluster.Vmctl.Live;

/// <summary>
/// Draws successive frames of a live view. On a terminal (<c>ansi</c>) each frame replaces the previous one:
/// in place (the cursor goes back up over the last frame) or, for a full-screen view, from the top of a
/// cleared screen. Otherwise a frame is printed as plain lines, and only when it differs from the last one,
/// so a log of the output shows each change once.
/// </summary>
public sealed class Screen(TextWriter output, bool ansi, bool fullScreen)
{
    private const string Escape = "\u001b[";
    private string? _last;
    private int _lastLines;

    /// <summary>Shows <paramref name="frame"/> (lines separated by '\n').</summary>
    public void Draw(string frame)
    {
        frame = frame.TrimEnd('\n');
        if (!ansi)
        {
            if (frame != _last)
                output.WriteLine(frame);
            _last = frame;
            output.Flush();
            return;
        }
        if (fullScreen)
            output.Write($"{Escape}H{Escape}2J");
        else if (_lastLines > 1)
            output.Write($"\r{Escape}{_lastLines - 1}A{Escape}J");
        else
            output.Write($"\r{Escape}J");
        var lines = frame.Split('\n');
        output.Write(string.Join('\n', lines.Select(l => $"{l}{Escape}K")));
        _lastLines = lines.Length;
        _last = frame;
        output.Flush();
    }

    /// <summary>Ends the live drawing: the cursor moves below the last frame.</summary>
    public void End()
    {
        if (ansi && _lastLines > 0)
            output.WriteLine();
        _lastLines = 0;
        output.Flush();
    }
}
