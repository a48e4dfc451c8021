namespace Cluster.Actors.Rebalancing;

/// <summary>Counts concurrent moves per host (as source or target) and cluster-wide against the settings' limits.</summary>
internal sealed class MoveLimits
{
    private readonly Dictionary<string, int> _perHost = new(StringComparer.Ordinal);
    private readonly int _maxPerHost;
    private readonly int _max;
    private int _total;

    public MoveLimits(RebalanceSettings settings, IEnumerable<PendingMove> active)
    {
        _maxPerHost = settings.MaxMovesPerHost;
        _max = settings.MaxMoves;
        foreach (var move in active)
            Take(move.From, move.To);
    }

    /// <summary>Whether any move at all may start.</summary>
    public bool AnyLeft => _total < _max;

    /// <summary>Whether a move from <paramref name="from"/> to <paramref name="to"/> fits the limits.</summary>
    public bool Allows(string from, string to) => AnyLeft && Count(from) < _maxPerHost && Count(to) < _maxPerHost;

    /// <summary>Whether <paramref name="host"/> may take part in one more move (as source or target).</summary>
    public bool Open(string host) => Count(host) < _maxPerHost;

    public void Take(string from, string to)
    {
        _perHost[from] = Count(from) + 1;
        _perHost[to] = Count(to) + 1;
        _total++;
    }

    private int Count(string host) => _perHost.GetValueOrDefault(host);
}
