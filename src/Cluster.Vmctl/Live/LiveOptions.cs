namespace Cluster.Vmctl.Live;

/// <summary>How a live view draws and how often it refreshes.</summary>
/// <param name="Ansi">Redraw in place with ANSI cursor control (a terminal); otherwise print plain lines.</param>
/// <param name="Interval">Time between refreshes.</param>
/// <param name="Once">Print one frame and stop.</param>
public sealed record LiveOptions(bool Ansi, TimeSpan Interval, bool Once = false)
{
    /// <summary>A refresh every second.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);
}
