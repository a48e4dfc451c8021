using System.Diagnostics;

namespace ScaleBench.Sim;

/// <summary>Durations of one kind (milliseconds), with their percentiles.</summary>
public sealed class Timings
{
    private readonly List<double> _ms = [];

    public int Count => _ms.Count;

    public double Total => _ms.Sum();

    public void Add(double ms) => _ms.Add(ms);

    /// <summary>The milliseconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>), recorded.</summary>
    public long Since(long start)
    {
        var now = Stopwatch.GetTimestamp();
        Add(Stopwatch.GetElapsedTime(start, now).TotalMilliseconds);
        return now;
    }

    /// <summary>The <paramref name="p"/>-th percentile (nearest rank), 0 when empty.</summary>
    public double Percentile(double p)
    {
        if (_ms.Count == 0)
            return 0;
        var sorted = _ms.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public double Max => _ms.Count == 0 ? 0 : _ms.Max();

    /// <summary>"p50=N p99=N max=N" in milliseconds.</summary>
    public string Summary => $"p50={Percentile(50):0.000} p99={Percentile(99):0.000} max={Max:0.000} total={Total:0.0}";
}
