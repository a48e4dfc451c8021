namespace Cluster.Node.Http.History;

/// <summary>
/// A fixed number of samples of a few named series, taken at the same times (like one RRD archive): the oldest sample
/// is overwritten once <see cref="Capacity"/> are kept, so its memory is bounded from the start. A missing value is NaN.
/// Not thread-safe: one owner (the <see cref="HistorySampler"/>) writes and reads it.
/// </summary>
public sealed class SeriesRing
{
    private readonly long[] _at;
    private readonly double[][] _values;
    private int _next;

    public SeriesRing(IReadOnlyList<string> names, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Names = names;
        _at = new long[capacity];
        _values = [.. names.Select(_ => new double[capacity])];
    }

    /// <summary>The series' names, in the order of each sample's values.</summary>
    public IReadOnlyList<string> Names { get; }

    public int Capacity => _at.Length;

    /// <summary>How many samples are kept (at most <see cref="Capacity"/>).</summary>
    public int Count { get; private set; }

    /// <summary>Adds a sample taken at <paramref name="at"/> (Unix milliseconds): one value per name, NaN where there is none.</summary>
    public void Add(long at, ReadOnlySpan<double> values)
    {
        if (values.Length != Names.Count)
            throw new ArgumentException($"{values.Length} values for {Names.Count} series ({string.Join(", ", Names)})", nameof(values));
        _at[_next] = at;
        for (var i = 0; i < values.Length; i++)
            _values[i][_next] = values[i];
        _next = (_next + 1) % Capacity;
        Count = Math.Min(Count + 1, Capacity);
    }

    /// <summary>The kept samples, oldest first: their times and, per series, their values (null for NaN).</summary>
    public (long[] At, IReadOnlyDictionary<string, double?[]> Series) Read()
    {
        var start = Count < Capacity ? 0 : _next;
        var at = new long[Count];
        var series = Names.ToDictionary(n => n, _ => new double?[Count]);
        for (var k = 0; k < Count; k++)
        {
            var slot = (start + k) % Capacity;
            at[k] = _at[slot];
            for (var i = 0; i < Names.Count; i++)
                series[Names[i]][k] = double.IsNaN(_values[i][slot]) ? null : _values[i][slot];
        }
        return (at, series);
    }
}
